import { describe, expect, it } from "vitest";
import type { ObservedEdge, ResourceItem, ServiceSummary } from "@trellis/contracts";
import { animationSeconds, buildGraph, edgeLabel, health, matchesFind, type GraphInput } from "./graph-model";
import { NODE_HEIGHT, NODE_WIDTH, quickLayout, namespaceBoxes, ranks, structureKey } from "./graph-layout";

const NOW = "2026-11-22T08:00:00.000Z";

function svc(namespace: string, name: string, versions: string[]): ServiceSummary {
  return {
    namespace,
    name,
    versions,
    workloads: versions.length,
    healthyWorkloads: versions.length,
    vip: null,
    createdAt: NOW,
  };
}

function edge(
  from: [string, string, string],
  to: [string, string, string],
  requests: number,
  opts: Partial<ObservedEdge> = {},
): ObservedEdge {
  return {
    source: { namespace: from[0], service: from[1], version: from[2] },
    destination: { namespace: to[0], service: to[1], version: to[2] },
    requests,
    rps: requests / 60,
    errorRate: 0,
    p50Ms: 3,
    p95Ms: 9,
    p99Ms: 20,
    mtlsShare: 1,
    protocol: "http",
    protocols: ["http1"],
    codes: { "200": requests },
    ...opts,
  };
}

function resource(
  kind: ResourceItem["kind"],
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): ResourceItem {
  return { kind, namespace, name, revision: 1, spec, createdAt: NOW, updatedAt: NOW };
}

const SHOP: GraphInput = {
  versions: "split",
  services: [
    svc("shop", "frontend", ["v1"]),
    svc("shop", "reviews", ["v1", "v2"]),
    svc("shop", "ratings", ["v1"]),
  ],
  edges: [
    edge(["shop", "frontend", "v1"], ["shop", "reviews", "v1"], 900),
    edge(["shop", "frontend", "v1"], ["shop", "reviews", "v2"], 100, {
      errorRate: 0.2,
      codes: { "200": 80, "503": 20 },
    }),
    edge(["shop", "unknown", "unknown"], ["shop", "frontend", "v1"], 600, { mtlsShare: 0 }),
  ],
  resources: [
    resource("Route", "shop", "reviews", {
      service: "reviews",
      rules: [
        {
          backends: [
            { version: "v1", weight: 90 },
            { version: "v2", weight: 10 },
          ],
        },
      ],
    }),
    resource("Route", "shop", "ratings", {
      service: "ratings",
      rules: [{ fault: { abort: { percent: 5, status: 503 } } }],
    }),
    resource("AccessPolicy", "shop", "reviews-access", {
      service: "reviews",
      allow: [{ from: [{ namespace: "shop", service: "frontend" }] }],
    }),
    resource("DestinationPolicy", "shop", "ratings", {
      service: "ratings",
      loadBalancer: { type: "leastRequest" },
    }),
  ],
};

describe("health", () => {
  it("uses the defaults 0.1% degraded and 10% failing, and idle without requests", () => {
    expect(health(0, 0)).toBe("idle");
    expect(health(1000, 0)).toBe("healthy");
    expect(health(1000, 0.001)).toBe("healthy");
    expect(health(1000, 0.002)).toBe("degraded");
    expect(health(1000, 0.1)).toBe("degraded");
    expect(health(1000, 0.11)).toBe("failing");
    expect(health(1000, 0.05, { degraded: 0.01, failing: 0.04 })).toBe("failing");
  });
});

describe("buildGraph", () => {
  it("makes a node per registered version, plus callers seen only in telemetry", () => {
    const g = buildGraph(SHOP);
    expect(g.nodes.map((n) => [n.id, n.registered, n.idle])).toEqual([
      ["shop/frontend/v1", true, false],
      ["shop/ratings/v1", true, true],
      ["shop/reviews/v1", true, false],
      ["shop/reviews/v2", true, false],
      ["shop/unknown/unknown", false, false],
    ]);
  });

  it("sums inbound traffic into nodes, with health from the 5xx share", () => {
    const g = buildGraph(SHOP);
    const v2 = g.nodes.find((n) => n.id === "shop/reviews/v2")!;
    expect(v2.requests).toBe(100);
    expect(v2.errorRate).toBeCloseTo(0.2);
    expect(v2.health).toBe("failing");
    expect(g.nodes.find((n) => n.id === "shop/reviews/v1")!.health).toBe("healthy");
    expect(g.nodes.find((n) => n.id === "shop/ratings/v1")!.health).toBe("idle");
  });

  it("merges versions into one node per service", () => {
    const merged = buildGraph({
      ...SHOP,
      versions: "merged",
      edges: [
        edge(["shop", "frontend", "*"], ["shop", "reviews", "*"], 1000, { errorRate: 0.02 }),
        edge(["shop", "unknown", "*"], ["shop", "frontend", "*"], 600),
      ],
    });
    expect(merged.nodes.map((n) => n.id)).toEqual([
      "shop/frontend",
      "shop/ratings",
      "shop/reviews",
      "shop/unknown",
    ]);
    const reviews = merged.nodes.find((n) => n.id === "shop/reviews")!;
    expect(reviews.version).toBe("*");
    expect(reviews.health).toBe("degraded");
  });

  it("gives each edge its share of the caller's outbound requests, mTLS lock and health", () => {
    const g = buildGraph(SHOP);
    const toV1 = g.edges.find((e) => e.id === "shop/frontend/v1->shop/reviews/v1")!;
    const toV2 = g.edges.find((e) => e.id === "shop/frontend/v1->shop/reviews/v2")!;
    expect(toV1.share).toBeCloseTo(0.9);
    expect(toV2.share).toBeCloseTo(0.1);
    expect(toV1.mtls).toBe(true);
    expect(toV2.health).toBe("failing");
    const fromUnknown = g.edges.find((e) => e.source === "shop/unknown/unknown")!;
    expect(fromUnknown.mtls).toBe(false);
    expect(fromUnknown.share).toBe(1);
  });

  it("badges splits, faults and access policies, and links the policies that apply", () => {
    const g = buildGraph(SHOP);
    const reviews = g.nodes.find((n) => n.id === "shop/reviews/v1")!;
    expect(reviews.badges.map((b) => b.kind).sort()).toEqual(["access", "split"]);
    expect(reviews.badges.find((b) => b.kind === "split")!.detail).toContain("v1 90% · v2 10%");
    expect(reviews.policies).toEqual([
      { kind: "Route", namespace: "shop", name: "reviews" },
      { kind: "AccessPolicy", namespace: "shop", name: "reviews-access" },
    ]);
    const ratings = g.nodes.find((n) => n.id === "shop/ratings/v1")!;
    expect(ratings.badges.map((b) => b.kind)).toEqual(["fault"]);
    expect(ratings.policies.map((p) => p.kind)).toEqual(["Route", "DestinationPolicy"]);
    expect(g.nodes.find((n) => n.id === "shop/frontend/v1")!.badges).toEqual([]);
  });

  it("judges each edge against the callee's access policies", () => {
    const g = buildGraph({
      ...SHOP,
      edges: [...SHOP.edges, edge(["shop", "ratings", "v1"], ["shop", "reviews", "v1"], 10)],
    });
    expect(g.edges.find((e) => e.id === "shop/frontend/v1->shop/reviews/v1")!.access).toBe("allowed");
    expect(g.edges.find((e) => e.id === "shop/ratings/v1->shop/reviews/v1")!.access).toBe("denied");
    expect(g.edges.find((e) => e.target === "shop/frontend/v1")!.access).toBeUndefined();
  });

  it("judges a TCP edge by connection, as the callee's sidecar does", () => {
    const getOnly = resource("AccessPolicy", "shop", "ratings-get", {
      service: "ratings",
      allow: [{ from: [{ service: "frontend" }], methods: ["GET"] }],
    });
    const to = (protocols: ObservedEdge["protocols"]) =>
      buildGraph({
        ...SHOP,
        edges: [
          edge(["shop", "frontend", "v1"], ["shop", "ratings", "v1"], 10, {
            protocol: protocols[0] === "tcp" ? "tcp" : "http",
            protocols,
          }),
        ],
        resources: [...SHOP.resources, getOnly],
      }).edges[0]!.access;
    expect(to(["http1"])).toBe("partial");
    // No method over TCP: the allow rule with methods allows no connection.
    expect(to(["tcp"])).toBe("denied");
  });

  it("hides idle nodes on request", () => {
    const g = buildGraph({ ...SHOP, hideIdle: true });
    expect(g.nodes.map((n) => n.id)).not.toContain("shop/ratings/v1");
    expect(g.nodes).toHaveLength(4);
  });
});

describe("labels and motion", () => {
  const g = buildGraph(SHOP);
  const e = g.edges.find((x) => x.id === "shop/frontend/v1->shop/reviews/v2")!;
  it("labels an edge with the chosen number", () => {
    expect(edgeLabel(e, "rps")).toBe("1.67 req/s");
    expect(edgeLabel(e, "errors")).toBe("20.0% 5xx");
    expect(edgeLabel(e, "p50")).toBe("p50 3.0 ms");
    expect(edgeLabel(e, "p99")).toBe("p99 20 ms");
    expect(edgeLabel(e, "share")).toBe("10.0%");
  });

  it("names the protocol on the edge when it is not plain HTTP/1.1", () => {
    expect(edgeLabel({ ...e, protocols: ["grpc"] }, "rps")).toBe("1.67 req/s · gRPC");
    expect(edgeLabel({ ...e, protocols: ["grpc", "http1"] }, "p50")).toBe("p50 3.0 ms · gRPC+HTTP/1.1");
    expect(edgeLabel({ ...e, protocols: ["websocket"] }, "share")).toBe("10.0% · WebSocket");
  });
  it("animates busier edges faster, within 0.2–2 s, and not at all without traffic", () => {
    expect(animationSeconds(0)).toBe(0);
    expect(animationSeconds(0.1)).toBeGreaterThan(animationSeconds(10));
    expect(animationSeconds(10)).toBeGreaterThan(animationSeconds(1000));
    expect(animationSeconds(1e6)).toBe(0.2);
  });
  it("finds nodes by a piece of namespace/service/version", () => {
    const reviews = g.nodes.find((n) => n.id === "shop/reviews/v2")!;
    expect(matchesFind(reviews, "REVIEWS")).toBe(true);
    expect(matchesFind(reviews, "shop/rev")).toBe(true);
    expect(matchesFind(reviews, "ratings")).toBe(false);
    expect(matchesFind(reviews, "  ")).toBe(false);
  });
});

describe("quick layout", () => {
  const chain = [
    { id: "a/gw", namespace: "a" },
    { id: "a/api", namespace: "a" },
    { id: "b/db", namespace: "b" },
    { id: "a/idle", namespace: "a" },
  ];
  const calls = [
    { source: "a/gw", target: "a/api" },
    { source: "a/api", target: "b/db" },
  ];

  it("ranks nodes by the longest call chain and survives cycles", () => {
    expect(Object.fromEntries(ranks(chain, calls))).toEqual({
      "a/gw": 0,
      "a/api": 1,
      "b/db": 2,
      "a/idle": 0,
    });
    const cyclic = ranks(chain, [...calls, { source: "b/db", target: "a/gw" }]);
    expect([...cyclic.values()].every((r) => r >= 0 && r <= 2)).toBe(true);
  });

  it("puts callers left of callees and namespaces in separate bands, without overlap", () => {
    const pos = quickLayout(chain, calls);
    expect(pos.get("a/gw")!.x).toBeLessThan(pos.get("a/api")!.x);
    expect(pos.get("a/api")!.x).toBeLessThan(pos.get("b/db")!.x);
    expect(pos.get("b/db")!.y).toBeGreaterThan(pos.get("a/idle")!.y + NODE_HEIGHT);
    assertNoOverlap(pos);
    const boxes = namespaceBoxes(chain, pos);
    expect(boxes.map((b) => b.namespace)).toEqual(["a", "b"]);
    const [a, b] = boxes;
    expect(a!.y + a!.height).toBeLessThan(b!.y);
  });

  it("is deterministic whatever the input order", () => {
    const one = quickLayout(chain, calls);
    const two = quickLayout([...chain].reverse(), [...calls].reverse());
    expect(Object.fromEntries(two)).toEqual(Object.fromEntries(one));
    expect(structureKey(chain, calls)).toBe(structureKey([...chain].reverse(), [...calls].reverse()));
    expect(structureKey(chain, calls)).not.toBe(structureKey(chain, calls.slice(1)));
  });

  it("keeps the positions users saw when nodes come and go, placing new ones where they fit", () => {
    const before = quickLayout(chain, calls);
    const moved = new Map(before).set("a/gw", { x: 500, y: 500 }); // as if dragged
    const grown = [...chain, { id: "a/new", namespace: "a" }];
    const after = quickLayout(grown, [...calls, { source: "a/gw", target: "a/new" }], moved);
    for (const id of ["a/gw", "a/api", "b/db", "a/idle"]) expect(after.get(id)).toEqual(moved.get(id));
    expect(after.has("a/new")).toBe(true);
    assertNoOverlap(after);
  });

  it("wraps tall columns and stays overlap-free with 300 services", () => {
    const nodes = Array.from({ length: 300 }, (_, i) => ({
      id: `ns${i % 5}/svc${i}`,
      namespace: `ns${i % 5}`,
    }));
    const edges = nodes.slice(1).map((n, i) => ({ source: nodes[Math.floor(i / 3)]!.id, target: n.id }));
    const t0 = performance.now();
    const pos = quickLayout(nodes, edges);
    const ms = performance.now() - t0;
    expect(pos.size).toBe(300);
    assertNoOverlap(pos);
    // Wrapped: no band is taller than 12 rows.
    const ys = new Set([...pos.values()].map((p) => p.y));
    expect(ys.size).toBeLessThanOrEqual(5 * 12);
    expect(ms).toBeLessThan(500);
  });
});

function assertNoOverlap(pos: Map<string, { x: number; y: number }>) {
  const list = [...pos.entries()];
  for (let i = 0; i < list.length; i++)
    for (let j = i + 1; j < list.length; j++) {
      const [a, p] = list[i]!;
      const [b, q] = list[j]!;
      if (Math.abs(p.x - q.x) < NODE_WIDTH && Math.abs(p.y - q.y) < NODE_HEIGHT)
        expect.fail(`${a} at ${JSON.stringify(p)} overlaps ${b} at ${JSON.stringify(q)}`);
    }
}
