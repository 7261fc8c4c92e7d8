import { describe, expect, it } from "vitest";
import type { Graph } from "@trellis/contracts";
import { trafficFromGraph } from "./graph-data";

// What GET /api/v1/graph answers for a 5-minute window (services/src/graph.ts): nodes by id, edges between ids.
const graph = (groupByVersion: boolean): Graph => {
  const v = (x: string) => (groupByVersion ? { version: x } : {});
  const id = (ns: string, svc: string, x: string) => (groupByVersion ? `${ns}/${svc}/${x}` : `${ns}/${svc}`);
  return {
    from: "2026-12-07T10:00:00.000Z",
    end: "2026-12-07T10:04:30.000Z",
    nodes: [
      {
        id: id("shop", "web", "v1"),
        namespace: "shop",
        service: "web",
        ...v("v1"),
        rps: 0,
        errorRate: 0,
        registered: true,
      },
      {
        id: id("shop", "api", "v2"),
        namespace: "shop",
        service: "api",
        ...v("v2"),
        rps: 7 / 270,
        errorRate: 0,
        registered: true,
      },
      {
        id: id("shop", "unknown", "unknown"),
        namespace: "shop",
        service: "unknown",
        ...v("unknown"),
        rps: 0,
        errorRate: 0,
        registered: false,
      },
    ],
    edges: [
      {
        source: id("shop", "web", "v1"),
        target: id("shop", "api", "v2"),
        rps: 7 / 270,
        errorRate: 1 / 7,
        p50: 3.5,
        p95: 9,
        p99: null,
        mtlsPercent: 100 * (6 / 7),
        protocol: "http",
        protocols: ["grpc", "http1"],
      },
      {
        source: id("shop", "unknown", "unknown"),
        target: id("shop", "api", "v2"),
        rps: 1_000_003 / 270,
        errorRate: 0,
        p50: null,
        p95: null,
        p99: null,
        mtlsPercent: 0,
        protocol: "tcp",
        protocols: ["tcp"],
      },
    ],
  };
};

describe("trafficFromGraph", () => {
  it("gives traffic.edges' shape: ends by name, requests back from the rate, shares, no status codes", () => {
    const t = trafficFromGraph(graph(false));
    expect(t.from).toBe("2026-12-07T10:00:00.000Z");
    expect(t.until).toBe("2026-12-07T10:04:30.000Z");
    expect(t.edges[0]).toEqual({
      source: { namespace: "shop", service: "web", version: "*" },
      destination: { namespace: "shop", service: "api", version: "*" },
      requests: 7,
      rps: 7 / 270,
      errorRate: 1 / 7,
      p50Ms: 3.5,
      p95Ms: 9,
      p99Ms: null,
      mtlsShare: 6 / 7,
      protocol: "http",
      protocols: ["grpc", "http1"],
      codes: {},
    });
    // A rate over 270 s, turned back into a count, is the count: no rounding drift at large numbers.
    expect(t.edges[1]!.requests).toBe(1_000_003);
  });

  it("keeps versions when the graph is split by version", () => {
    const t = trafficFromGraph(graph(true));
    expect(t.edges.map((e) => [e.source.version, e.destination.version])).toEqual([
      ["v1", "v2"],
      ["unknown", "v2"],
    ]);
  });
});
