// The service graph: observed edges (queryEdgeTotals) plus every registered service, so idle services show too.
import { ZGraphQuery, fieldIssue, type Graph, type GraphNode, type GraphQuery } from "@trellis/contracts";
import { Prisma, type Db } from "@trellis/db";
import { AppError, parseInput } from "./errors.js";
import { readableNamespaces, type Actor } from "./actor.js";
import { queryEdgeTotals } from "./traffic.js";

const MAX_MINUTES = 1440;

/**
 * Registered services in `scope` (one namespace, every one, or a list), or with `byVersion` each version a
 * workload of theirs has had (merged, no workload is read). A plain query: Prisma's query builder compiles a
 * nested, distinct select on every call (its WASM compiler, ~4 ms a call in a CPU profile on the loaded
 * benchmark machine), and hands back an object per workload to merge.
 */
function registeredNodes(
  db: Db,
  scope: { namespace: string } | { readable: string[] | "all" },
  byVersion: boolean,
) {
  const where =
    "namespace" in scope
      ? Prisma.sql`s."namespace" = ${scope.namespace}`
      : scope.readable === "all"
        ? Prisma.sql`TRUE`
        : Prisma.sql`s."namespace" = ANY(${scope.readable}::text[])`;
  return byVersion
    ? db.$queryRaw<{ namespace: string; name: string; version: string }[]>`
        SELECT DISTINCT s."namespace", s."name", w."version"
        FROM "Service" s JOIN "Workload" w ON w."serviceId" = s."id" WHERE ${where}`
    : db.$queryRaw<{ namespace: string; name: string; version: string }[]>`
        SELECT s."namespace", s."name", '*' AS "version" FROM "Service" s WHERE ${where}`;
}

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
    registeredNodes(db, q.namespace ? { namespace: q.namespace } : { readable }, byVersion),
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

  for (const s of services) node(s.namespace, s.name, s.version, true);

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
