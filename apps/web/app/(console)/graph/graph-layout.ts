// Where the graph's nodes go. A small layered layout, no dependency: calls flow left to right (a node's column
// is the longest call chain leading to it), each namespace is a horizontal band, rows inside a band follow
// their callers (barycenter sweeps) so edges cross less. Deterministic: the same graph always gets the same
// positions, and a refresh that adds a node keeps every other node where the user last saw it.

export interface LayoutNode {
  id: string;
  namespace: string;
}
export interface LayoutEdge {
  source: string;
  target: string;
}
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

/** Identity of a graph's shape: lay out again only when this changes. */
export function structureKey(nodes: readonly LayoutNode[], edges: readonly LayoutEdge[]): string {
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
export function ranks(nodes: readonly LayoutNode[], edges: readonly LayoutEdge[]): Map<string, number> {
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
 * Positions of every node (top-left corners, in React Flow's coordinates). Nodes in `previous` keep their
 * position; new ones take their place in the fresh layout, moved down past any kept node they would cover.
 */
export function layoutGraph(
  nodes: readonly LayoutNode[],
  edges: readonly LayoutEdge[],
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
