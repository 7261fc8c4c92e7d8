// Where the graph's nodes go, and which way its edges run (docs/decisions/022-graph-layout.md).
// - Up to LAYERED_MAX_NODES / LAYERED_MAX_EDGES (20 / 40): dagre's layered layout (layeredLayout), calls left to
//   right, every edge routed between the nodes and its label given a place of its own, so no edge runs
//   through a node and no label covers one.
// - Bigger graphs: quickLayout below, a hand-written layered layout, 0.2–0.3 s at 500 services on a loaded
//   machine (dagre took minutes on the benchmark's graph): no routes, edges drawn as plain curves.
// Both are deterministic (inputs sorted), so the same graph always gets the same positions.

import dagre, { type EdgeLabel, type GraphLabel, type NodeLabel } from "@dagrejs/dagre";

export interface LayoutNode {
  id: string;
  namespace: string;
}
export interface LayoutEdge {
  id: string;
  source: string;
  target: string;
}
type Calls = Pick<LayoutEdge, "source" | "target">;
export interface Position {
  x: number;
  y: number;
}
export interface NamespaceBox {
  namespace: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export const NODE_WIDTH = 190;
export const NODE_HEIGHT = 64;
const COLUMN_GAP = 110;
const ROW_GAP = 26;
const BAND_GAP = 70;
/** Pad between a namespace's box and its nodes; the top pad leaves room for the namespace's name. */
export const BOX_PAD = 20;
const BOX_TOP = 34;
/** A column taller than this wraps into several, so 200 services in one namespace stay on screen. */
const MAX_ROWS = 12;
const COL_W = NODE_WIDTH + COLUMN_GAP;
const ROW_H = NODE_HEIGHT + ROW_GAP;

/** Where an edge runs when the layout routed it: bends between nodes, and its label's centre. */
export interface EdgeRoute {
  /**
   * The path from the middle of the source's right side to the middle of the target's left side (for a call
   * back to an earlier column, left side to right side): in each column it crosses, a level stretch through
   * its own place there (between the nodes), and curves in the gaps between columns. See routePath.
   */
  points: Position[];
  label: Position;
}

export interface GraphLayout {
  /** Top-left corners of the nodes, in React Flow's coordinates. */
  positions: Map<string, Position>;
  /** By edge id; empty when the quick layout placed the nodes. */
  routes: Map<string, EdgeRoute>;
  engine: "layered" | "quick";
}

/**
 * Above these, the quick layout. dagre runs on the main thread and its cost grows with how many columns the
 * edges cross (each crossing is a node it orders): on the benchmark's 500 services and 2,000 edges it ran for
 * more than 5 minutes. Measured in vitest at load 19–23 on 2 cores (docs/decisions/022-graph-layout.md), on
 * the benchmark's generator scaled down: 6 nodes / 6 edges 180 ms, 20 / 40 0.5 s, 30 / 60 2 s, 40 / 100
 * 3.3 s (the quick layout: 0.2–0.3 s at 500 / 2,000). 20 / 40 holds the demo (8 nodes split by version) and a
 * small namespace; a Web Worker would lift the limit (not done: the console's CSP and Turbopack's worker
 * bundling need checking first).
 */
export const LAYERED_MAX_NODES = 20;
export const LAYERED_MAX_EDGES = 40;
/** The room an edge label gets in the layered layout; wider labels are cut short with an ellipsis (CSS). */
export const LABEL_WIDTH = 132;
export const LABEL_HEIGHT = 22;

/**
 * Positions (and, for the layered layout, edge routes) of a graph. `previous` is for the quick layout only
 * (see quickLayout); the layered layout keeps nodes in place by being deterministic and keeping the order of
 * the nodes inside each column (see layeredLayout).
 */
export function layoutGraph(
  nodes: readonly LayoutNode[],
  edges: readonly LayoutEdge[],
  previous?: ReadonlyMap<string, Position>,
): GraphLayout {
  if (nodes.length <= LAYERED_MAX_NODES && edges.length <= LAYERED_MAX_EDGES)
    return layeredLayout(nodes, edges);
  return { positions: quickLayout(nodes, edges, previous), routes: new Map(), engine: "quick" };
}

/**
 * dagre's layered layout: namespaces as clusters (their nodes kept together, other edges routed around them),
 * each edge's label a node of its own in a column between the nodes' columns (dagre's edge labels), and long
 * edges bent through the columns they cross, between the nodes there.
 */
export function layeredLayout(nodes: readonly LayoutNode[], edges: readonly LayoutEdge[]): GraphLayout {
  const g = new dagre.graphlib.Graph<GraphLabel, NodeLabel, EdgeLabel>({ compound: true, multigraph: true });
  // ranksep: the gap between a node column and a label column, where edges bend (dagre halves it around
  // label columns); wide enough that a curve has room to turn.
  g.setGraph({ rankdir: "LR", nodesep: 28, edgesep: 14, ranksep: 120, marginx: 0, marginy: 0 });
  // Sorted input: dagre's result depends on the order it sees nodes and edges, so sorting makes it depend
  // on the graph alone, and a service added later lands among the others instead of reshuffling them.
  const sortedNodes = [...nodes].sort((a, b) => a.id.localeCompare(b.id));
  const ids = new Set(sortedNodes.map((n) => n.id));
  for (const ns of [...new Set(sortedNodes.map((n) => n.namespace))].sort())
    g.setNode(`namespace:${ns}`, { width: 0, height: 0 });
  for (const n of sortedNodes) {
    g.setNode(n.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
    g.setParent(n.id, `namespace:${n.namespace}`);
  }
  const routed = [...edges]
    .filter((e) => e.source !== e.target && ids.has(e.source) && ids.has(e.target))
    .sort((a, b) => a.id.localeCompare(b.id));
  for (const e of routed)
    g.setEdge(e.source, e.target, { width: LABEL_WIDTH, height: LABEL_HEIGHT, labelpos: "c" }, e.id);
  dagre.layout(g);

  const positions = new Map<string, Position>();
  for (const n of sortedNodes) {
    const d = g.node(n.id);
    positions.set(n.id, { x: Math.round(d.x! - NODE_WIDTH / 2), y: Math.round(d.y! - NODE_HEIGHT / 2) });
  }
  // Columns that hold nodes are NODE_WIDTH wide; the others hold only labels and bends.
  const nodeColumns = new Set(sortedNodes.map((n) => Math.round(g.node(n.id).x!)));
  const routes = new Map<string, EdgeRoute>();
  for (const e of routed) {
    const d = g.edge(e.source, e.target, e.id);
    // A call back to an earlier column runs right to left (dagre hands its points back in call order).
    const dir = positions.get(e.target)!.x > positions.get(e.source)!.x ? 1 : -1;
    const [from, to] = [positions.get(e.source)!, positions.get(e.target)!];
    const points: Position[] = [{ x: from.x + (dir > 0 ? NODE_WIDTH : 0), y: from.y + NODE_HEIGHT / 2 }];
    for (const p of (d.points ?? []).slice(1, -1)) {
      const half = nodeColumns.has(Math.round(p.x)) ? NODE_WIDTH / 2 : LABEL_WIDTH / 2;
      // Level across the column (the edge's own place in it, between the nodes there).
      points.push({ x: p.x - dir * half, y: p.y }, { x: p.x + dir * half, y: p.y });
    }
    points.push({ x: to.x + (dir > 0 ? 0 : NODE_WIDTH), y: to.y + NODE_HEIGHT / 2 });
    routes.set(e.id, { points, label: { x: d.x!, y: d.y! } });
  }
  return { positions, routes, engine: "layered" };
}

/**
 * The SVG path of a route: straight where it is level, an S-curve (control points at the middle of the gap)
 * between columns, which stays inside the gap: no node sits there, so the edge crosses none.
 */
export function routePath(points: readonly Position[]): string {
  let d = `M ${points[0]!.x},${points[0]!.y}`;
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1]!, points[i]!];
    const mx = (a.x + b.x) / 2;
    d += a.y === b.y ? ` L ${b.x},${b.y}` : ` C ${mx},${a.y} ${mx},${b.y} ${b.x},${b.y}`;
  }
  return d;
}

/** Identity of a graph's shape: lay out again only when this changes. */
export function structureKey(nodes: readonly LayoutNode[], edges: readonly Calls[]): string {
  return (
    [...nodes.map((n) => n.id)].sort().join("\n") +
    "\n--\n" +
    edges
      .map((e) => `${e.source}>${e.target}`)
      .sort()
      .join("\n")
  );
}

/** Column of each node: the longest chain of calls leading to it (cycles are cut where a DFS closes them). */
export function ranks(nodes: readonly LayoutNode[], edges: readonly Calls[]): Map<string, number> {
  const ids = new Set(nodes.map((n) => n.id));
  const out = new Map<string, string[]>();
  for (const e of edges) {
    if (!ids.has(e.source) || !ids.has(e.target) || e.source === e.target) continue;
    (out.get(e.source) ?? out.set(e.source, []).get(e.source)!).push(e.target);
  }
  for (const list of out.values()) list.sort();
  // Drop back edges (iterative DFS in id order, so the same graph always cuts the same edges).
  const state = new Map<string, 1 | 2>();
  const forward = new Map<string, string[]>();
  for (const start of [...ids].sort()) {
    if (state.has(start)) continue;
    const stack: { id: string; i: number }[] = [{ id: start, i: 0 }];
    state.set(start, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const next = out.get(top.id)?.[top.i++];
      if (next === undefined) {
        state.set(top.id, 2);
        stack.pop();
        continue;
      }
      if (state.get(next) === 1) continue; // back edge: closes a cycle
      (forward.get(top.id) ?? forward.set(top.id, []).get(top.id)!).push(next);
      if (!state.has(next)) {
        state.set(next, 1);
        stack.push({ id: next, i: 0 });
      }
    }
  }
  // Longest path over the remaining DAG, in topological order (Kahn).
  const indeg = new Map<string, number>([...ids].map((id) => [id, 0]));
  for (const ts of forward.values()) for (const t of ts) indeg.set(t, indeg.get(t)! + 1);
  const rank = new Map<string, number>([...ids].map((id) => [id, 0]));
  const queue = [...ids].filter((id) => indeg.get(id) === 0).sort();
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    for (const t of forward.get(id) ?? []) {
      rank.set(t, Math.max(rank.get(t)!, rank.get(id)! + 1));
      indeg.set(t, indeg.get(t)! - 1);
      if (indeg.get(t) === 0) queue.push(t);
    }
  }
  return rank;
}

/**
 * The quick layout: a node's column is the longest call chain leading to it, each namespace a horizontal band,
 * rows inside a band follow their callers (barycenter sweeps). Positions of every node (top-left corners, in
 * React Flow's coordinates). Nodes in `previous` keep their position; new ones take their place in the fresh
 * layout, moved down past any kept node they would cover.
 */
export function quickLayout(
  nodes: readonly LayoutNode[],
  edges: readonly Calls[],
  previous?: ReadonlyMap<string, Position>,
): Map<string, Position> {
  const rank = ranks(nodes, edges);
  const preds = new Map<string, string[]>();
  for (const e of edges) (preds.get(e.target) ?? preds.set(e.target, []).get(e.target)!).push(e.source);

  // Columns per rank, per namespace band.
  const namespaces = [...new Set(nodes.map((n) => n.namespace))].sort();
  const maxRank = Math.max(0, ...rank.values());
  const bands = new Map<string, string[][]>(); // namespace → rank → ids
  for (const ns of namespaces)
    bands.set(
      ns,
      Array.from({ length: maxRank + 1 }, () => []),
    );
  for (const n of [...nodes].sort((a, b) => a.id.localeCompare(b.id)))
    bands.get(n.namespace)![rank.get(n.id) ?? 0]!.push(n.id);

  // Order rows: two left-to-right barycenter sweeps over the callers' rows (global, across bands).
  const row = new Map<string, number>();
  for (const cols of bands.values()) for (const col of cols) col.forEach((id, i) => row.set(id, i));
  for (let sweep = 0; sweep < 2; sweep++) {
    for (const cols of bands.values()) {
      for (let r = 1; r < cols.length; r++) {
        const col = cols[r]!;
        const bary = new Map<string, number>();
        for (const id of col) {
          const ps = (preds.get(id) ?? []).filter((p) => row.has(p));
          bary.set(id, ps.length > 0 ? ps.reduce((s, p) => s + row.get(p)!, 0) / ps.length : row.get(id)!);
        }
        col.sort((a, b) => bary.get(a)! - bary.get(b)! || a.localeCompare(b));
        col.forEach((id, i) => row.set(id, i));
      }
    }
  }

  // Each rank is as wide as its most wrapped column in any band; each band as tall as its tallest column.
  const sub = Array.from({ length: maxRank + 1 }, (_, r) =>
    Math.max(1, ...namespaces.map((ns) => Math.ceil(bands.get(ns)![r]!.length / MAX_ROWS))),
  );
  const rankX: number[] = [];
  let x = 0;
  for (let r = 0; r <= maxRank; r++) {
    rankX.push(x);
    x += sub[r]! * COL_W;
  }
  const fresh = new Map<string, Position>();
  let y = 0;
  for (const ns of namespaces) {
    const cols = bands.get(ns)!;
    const rows = Math.max(1, ...cols.map((c) => Math.min(MAX_ROWS, c.length)));
    cols.forEach((col, r) => {
      col.forEach((id, i) => {
        fresh.set(id, {
          x: rankX[r]! + Math.floor(i / MAX_ROWS) * COL_W,
          y: y + (i % MAX_ROWS) * ROW_H,
        });
      });
    });
    y += rows * ROW_H - ROW_GAP + BAND_GAP + BOX_TOP + BOX_PAD;
  }
  if (previous === undefined || previous.size === 0) return fresh;

  const placed = new Map<string, Position>();
  for (const n of nodes) {
    const p = previous.get(n.id);
    if (p !== undefined) placed.set(n.id, p);
  }
  const overlaps = (p: Position) =>
    [...placed.values()].some(
      (q) => Math.abs(q.x - p.x) < NODE_WIDTH + 10 && Math.abs(q.y - p.y) < NODE_HEIGHT + 10,
    );
  for (const n of [...nodes].sort((a, b) => a.id.localeCompare(b.id))) {
    if (placed.has(n.id)) continue;
    const p = { ...fresh.get(n.id)! };
    while (overlaps(p)) p.y += ROW_H;
    placed.set(n.id, p);
  }
  return placed;
}

/** A box around each namespace's nodes, drawn behind them with the namespace's name. */
export function namespaceBoxes(
  nodes: readonly LayoutNode[],
  positions: ReadonlyMap<string, Position>,
): NamespaceBox[] {
  const boxes = new Map<string, { x0: number; y0: number; x1: number; y1: number }>();
  for (const n of nodes) {
    const p = positions.get(n.id);
    if (p === undefined) continue;
    const b = boxes.get(n.namespace);
    if (b === undefined)
      boxes.set(n.namespace, { x0: p.x, y0: p.y, x1: p.x + NODE_WIDTH, y1: p.y + NODE_HEIGHT });
    else {
      b.x0 = Math.min(b.x0, p.x);
      b.y0 = Math.min(b.y0, p.y);
      b.x1 = Math.max(b.x1, p.x + NODE_WIDTH);
      b.y1 = Math.max(b.y1, p.y + NODE_HEIGHT);
    }
  }
  return [...boxes.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([namespace, b]) => ({
      namespace,
      x: b.x0 - BOX_PAD,
      y: b.y0 - BOX_TOP,
      width: b.x1 - b.x0 + 2 * BOX_PAD,
      height: b.y1 - b.y0 + BOX_TOP + BOX_PAD,
    }));
}
