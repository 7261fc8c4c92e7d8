// The service graph: observed edges (queryEdgeTotals) plus every registered service, so idle services show too.
import { ZGraphQuery, fieldIssue, type Graph, type GraphNode, type GraphQuery } from "@trellis/contracts";
import type { Db } from "@trellis/db";
import { AppError, parseInput } from "./errors.js";
import { readableNamespaces, type Actor } from "./actor.js";
import { queryEdgeTotals } from "./traffic.js";

const MAX_MINUTES = 1440;

/** `options` is for tests and the benchmark: `{ edgeRollups: false }` reads only per-minute rows. */
export async function serviceGraph(
  db: Db,
  actor: Actor,
  query: GraphQuery,
  options: { edgeRollups?: boolean } = {},
): Promise<Graph> {
  const q = parseInput(ZGraphQuery, query);
  const n = Number(q.window.slice(0, -1));
  const minutes = q.window.endsWith("h") ? n * 60 : n;
  if (minutes < 1 || minutes > MAX_MINUTES)
    throw new AppError("VALIDATION_FAILED", "window must be from 1m to 24h", {
      issues: [fieldIssue({ path: ["window"] }, "must be from 1m to 24h")],
    });
  const byVersion = q.groupBy === "version";
  // Observed edges, and registered services (and versions) so idle ones are nodes too: both at once.
  // queryEdgeTotals checks the actor may read what it asks for; its refusal rejects the whole.
  const readable = readableNamespaces(actor);
  const [traffic, services] = await Promise.all([
    queryEdgeTotals(
      db,
      actor,
      {
        ...(q.namespace ? { namespace: q.namespace } : {}),
        minutes,
        ...(q.end ? { until: q.end } : {}),
        versions: byVersion ? "split" : "merged",
      },
      options,
    ),
    db.service.findMany({
      where: q.namespace
        ? { namespace: q.namespace }
        : readable === "all"
          ? {}
          : { namespace: { in: readable } },
      select: {
        namespace: true,
        name: true,
        workloads: { select: { version: true }, distinct: ["version"] },
      },
    }),
  ]);

  const nodes = new Map<string, GraphNode & { errors: number; requests: number }>();
  const idOf = (ns: string, svc: string, v: string) => (byVersion ? `${ns}/${svc}/${v}` : `${ns}/${svc}`);
  const node = (ns: string, svc: string, v: string, registered: boolean) => {
    const id = idOf(ns, svc, v);
    let x = nodes.get(id);
    if (x === undefined) {
      x = {
        id,
        namespace: ns,
        service: svc,
        ...(byVersion ? { version: v } : {}),
        rps: 0,
        errorRate: 0,
        registered,
        errors: 0,
        requests: 0,
      };
      nodes.set(id, x);
    }
    if (registered) x.registered = true;
    return x;
  };

  for (const s of services) {
    if (byVersion) for (const w of s.workloads) node(s.namespace, s.name, w.version, true);
    else node(s.namespace, s.name, "*", true);
  }

  const edges: Graph["edges"] = [];
  for (const e of traffic.edges) {
    const src = node(e.source.namespace, e.source.service, e.source.version, false);
    const dst = node(e.destination.namespace, e.destination.service, e.destination.version, false);
    dst.rps += e.rps;
    dst.requests += e.requests;
    dst.errors += e.errorRate * e.requests;
    edges.push({
      source: src.id,
      target: dst.id,
      rps: e.rps,
      errorRate: e.errorRate,
      p50: e.p50Ms,
      p95: e.p95Ms,
      p99: e.p99Ms,
      mtlsPercent: e.mtlsShare * 100,
      protocol: e.protocol,
      protocols: e.protocols,
    });
  }
  return {
    from: traffic.from,
    end: traffic.until,
    nodes: [...nodes.values()]
      .map(({ errors, requests, ...n }) => ({ ...n, errorRate: requests > 0 ? errors / requests : 0 }))
      .sort((a, b) => a.id.localeCompare(b.id)),
    edges,
  };
}
