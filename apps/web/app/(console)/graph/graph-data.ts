// What the graph page asks for, and the graph API's answer in the shape the page's model reads
// (traffic.edges'); see use-graph-traffic.ts.
import type { Graph, ObservedTraffic } from "@trellis/contracts";
import type { VersionMode } from "./graph-model";

/** The window the page opens with: the last 5 minutes, live, one node per service. */
export const OPENING_VIEW = { minutes: 5, versions: "merged" } as const;

/**
 * The inputs of what the page draws from: its components ask for these and its page prefetches them on the
 * server for the view it opens with, so the two cannot drift apart.
 */
export function graphInputs(q: {
  namespace?: string;
  minutes: number;
  versions: VersionMode;
  until?: string;
}) {
  const ns = q.namespace ? { namespace: q.namespace } : {};
  return {
    graph: {
      ...ns,
      window: `${q.minutes}m`,
      groupBy: q.versions === "split" ? ("version" as const) : ("service" as const),
      ...(q.until ? { end: q.until } : {}),
    },
    traffic: { ...ns, minutes: q.minutes, versions: q.versions, ...(q.until ? { until: q.until } : {}) },
    services: {},
    resources: ns,
  };
}

/** The graph API's answer in traffic.edges' shape, without status codes (which the graph API does not carry). */
export function trafficFromGraph(g: Graph): ObservedTraffic {
  const nodes = new Map(g.nodes.map((n) => [n.id, n]));
  const ref = (id: string) => {
    const n = nodes.get(id);
    // Every edge's ends are nodes of the same answer (services/src/graph.ts); the id is the fallback.
    return { namespace: n?.namespace ?? id, service: n?.service ?? id, version: n?.version ?? "*" };
  };
  // As the server computes rates: requests over the window's seconds.
  const seconds = Math.max(1, (Date.parse(g.end) - Date.parse(g.from)) / 1000);
  return {
    from: g.from,
    until: g.end,
    edges: g.edges.map((e) => ({
      source: ref(e.source),
      destination: ref(e.target),
      requests: Math.round(e.rps * seconds),
      rps: e.rps,
      errorRate: e.errorRate,
      p50Ms: e.p50,
      p95Ms: e.p95,
      p99Ms: e.p99,
      mtlsShare: e.mtlsPercent / 100,
      protocol: e.protocol,
      protocols: e.protocols,
      codes: {},
    })),
  };
}
