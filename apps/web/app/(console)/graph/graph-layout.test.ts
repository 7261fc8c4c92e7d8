import { describe, expect, it } from "vitest";
import {
  LABEL_HEIGHT,
  LABEL_WIDTH,
  NODE_HEIGHT,
  NODE_WIDTH,
  layoutGraph,
  type GraphLayout,
  type LayoutEdge,
  type LayoutNode,
  type Position,
} from "./graph-layout";

// The demo's graph (packages/demo): the ingress sends the front page to productpage and the live feed to
// feed; productpage asks details and reviews; reviews and feed ask ratings. The hand-written layout drew
// feed → ratings straight through details.
const DEMO = ["ingress", "productpage", "feed", "details", "reviews", "ratings"];
const demoNodes: LayoutNode[] = DEMO.map((s) => ({ id: `demo/${s}`, namespace: "demo" }));
const call = (a: string, b: string): LayoutEdge => ({
  id: `demo/${a}->demo/${b}`,
  source: `demo/${a}`,
  target: `demo/${b}`,
});
const demoEdges = [
  call("ingress", "productpage"),
  call("ingress", "feed"),
  call("productpage", "details"),
  call("productpage", "reviews"),
  call("reviews", "ratings"),
  call("feed", "ratings"),
];

/** Points along a route as routePath draws it (straight level stretches, S-curves between columns). */
function sample(points: readonly Position[]): Position[] {
  const out: Position[] = [];
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1]!, points[i]!];
    const mx = (a.x + b.x) / 2;
    for (let k = 0; k <= 40; k++) {
      const t = k / 40;
      const u = 1 - t;
      // Cubic Bézier with control points (mx, a.y) and (mx, b.y); a straight line when a.y === b.y.
      out.push({
        x: u * u * u * a.x + 3 * u * u * t * mx + 3 * u * t * t * mx + t * t * t * b.x,
        y: u * u * u * a.y + 3 * u * u * t * a.y + 3 * u * t * t * b.y + t * t * t * b.y,
      });
    }
  }
  return out;
}

const inside = (p: Position, box: { x: number; y: number; w: number; h: number }, pad = 1) =>
  p.x > box.x + pad && p.x < box.x + box.w - pad && p.y > box.y + pad && p.y < box.y + box.h - pad;

/** Every edge against every node box it does not start or end at, and every label against every node. */
function crossings(nodes: LayoutNode[], edges: LayoutEdge[], layout: GraphLayout): string[] {
  const out: string[] = [];
  for (const e of edges) {
    const route = layout.routes.get(e.id);
    if (!route) {
      out.push(`${e.id} has no route`);
      continue;
    }
    const pts = sample(route.points);
    for (const n of nodes) {
      const p = layout.positions.get(n.id)!;
      const box = { x: p.x, y: p.y, w: NODE_WIDTH, h: NODE_HEIGHT };
      if (n.id !== e.source && n.id !== e.target && pts.some((q) => inside(q, box)))
        out.push(`${e.id} crosses ${n.id}`);
      const l = route.label;
      const overlapX = Math.abs(l.x - (p.x + NODE_WIDTH / 2)) < (LABEL_WIDTH + NODE_WIDTH) / 2;
      const overlapY = Math.abs(l.y - (p.y + NODE_HEIGHT / 2)) < (LABEL_HEIGHT + NODE_HEIGHT) / 2;
      if (overlapX && overlapY) out.push(`${e.id}'s label covers ${n.id}`);
    }
  }
  return out;
}

describe("layered layout", () => {
  it("routes the demo's edges around nodes and keeps labels off them", () => {
    const layout = layoutGraph(demoNodes, demoEdges);
    expect(layout.engine).toBe("layered");
    expect(crossings(demoNodes, demoEdges, layout)).toEqual([]);
    const x = (s: string) => layout.positions.get(`demo/${s}`)!.x;
    // Calls run left to right.
    for (const e of demoEdges)
      expect(layout.positions.get(e.source)!.x).toBeLessThan(layout.positions.get(e.target)!.x);
    expect(x("ratings")).toBeGreaterThan(x("details"));
  });

  it("the check above finds an edge through a node when there is one", () => {
    // A straight line from feed to ratings through a node placed between them must count as a crossing.
    const layout = layoutGraph(demoNodes, demoEdges);
    const fake: GraphLayout = {
      ...layout,
      positions: new Map(layout.positions).set("demo/details", {
        x: (layout.positions.get("demo/feed")!.x + layout.positions.get("demo/ratings")!.x) / 2,
        y: layout.routes.get("demo/feed->demo/ratings")!.points[0]!.y - NODE_HEIGHT / 2,
      }),
    };
    expect(crossings(demoNodes, demoEdges, fake)).toContain("demo/feed->demo/ratings crosses demo/details");
  });

  it("routes calls back to an earlier column and across namespaces around nodes too", () => {
    const nodes: LayoutNode[] = [
      ...demoNodes,
      { id: "shop/cart", namespace: "shop" },
      { id: "shop/pay", namespace: "shop" },
    ];
    const edges = [
      ...demoEdges,
      call("ratings", "productpage"), // a cycle
      { id: "demo/reviews->shop/cart", source: "demo/reviews", target: "shop/cart" },
      { id: "shop/cart->shop/pay", source: "shop/cart", target: "shop/pay" },
      { id: "shop/pay->demo/details", source: "shop/pay", target: "demo/details" },
    ];
    const layout = layoutGraph(nodes, edges);
    expect(crossings(nodes, edges, layout)).toEqual([]);
  });

  it("is deterministic whatever the input order", () => {
    const one = layoutGraph(demoNodes, demoEdges);
    const two = layoutGraph([...demoNodes].reverse(), [...demoEdges].reverse());
    expect(Object.fromEntries(two.positions)).toEqual(Object.fromEntries(one.positions));
    expect(Object.fromEntries(two.routes)).toEqual(Object.fromEntries(one.routes));
  });

  it("keeps every node's column and the order inside each column when a service is added", () => {
    const before = layoutGraph(demoNodes, demoEdges);
    const nodes = [...demoNodes, { id: "demo/stars", namespace: "demo" }];
    const after = layoutGraph(nodes, [...demoEdges, call("productpage", "stars")]);
    const columns = (l: GraphLayout) => {
      const by = new Map<number, string[]>();
      for (const n of demoNodes) {
        const p = l.positions.get(n.id)!;
        (by.get(p.x) ?? by.set(p.x, []).get(p.x)!).push(n.id);
      }
      for (const ids of by.values()) ids.sort((a, b) => l.positions.get(a)!.y - l.positions.get(b)!.y);
      return [...by.entries()].sort(([a], [b]) => a - b).map(([, ids]) => ids);
    };
    expect(columns(after)).toEqual(columns(before));
  });

  it("hands big graphs to the quick layout", () => {
    const nodes = Array.from({ length: 60 }, (_, i) => ({ id: `ns/s${i}`, namespace: "ns" }));
    const edges = nodes.slice(1).map((n, i) => ({ id: `e${i}`, source: nodes[i]!.id, target: n.id }));
    const layout = layoutGraph(nodes, edges);
    expect(layout.engine).toBe("quick");
    expect(layout.positions.size).toBe(60);
    expect(layout.routes.size).toBe(0);
  });
});
