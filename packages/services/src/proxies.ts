import { ZProxyListInput, type ProxyList, type ProxyListInput, type ProxySync } from "@trellis/contracts";
import type { Db } from "@trellis/db";
import { readableNamespaces, requireRole, type Actor } from "./actor.js";
import { parseInput } from "./errors.js";

/** The rollout row of the newest generation a workload was part of. */
interface LastRollout {
  workloadId: string;
  generation: number;
  version: string;
  state: "pending" | "acked" | "nacked";
  reason: string | null;
}

interface WorkloadAnswers {
  ackedVersion: string | null;
  nackedVersion: string | null;
  nackReason: string | null;
}

/**
 * Where a proxy stands against the config the control plane has for it. The rollout row says what the newest
 * generation it took part in sent it; the workload row holds its latest answers, which may be written before
 * the row is settled (the control plane batches both), so an answer to the row's version counts too.
 */
export function proxySync(w: WorkloadAnswers, last: LastRollout | null): ProxySync {
  if (last) {
    const at = { generation: last.generation, targetVersion: last.version };
    const refused =
      last.state === "nacked" ||
      (last.state === "pending" && w.nackedVersion === last.version && w.ackedVersion !== last.version);
    if (refused) return { state: "nacked", ...at, reason: last.reason ?? w.nackReason };
    if (last.state === "acked" || w.ackedVersion === last.version)
      return { state: "in_sync", ...at, reason: null };
    return { state: "pending", ...at, reason: null };
  }
  // Joined after the newest generation (or none exists yet): it is judged by the config it got on connect.
  const none = { generation: null, targetVersion: null };
  if (w.ackedVersion !== null) return { state: "in_sync", ...none, reason: null };
  if (w.nackedVersion !== null) return { state: "nacked", ...none, reason: w.nackReason };
  return { state: "pending", ...none, reason: null };
}

/**
 * Registered proxies in the namespaces the actor may read, with their config versions, where each stands
 * against its newest config generation, and NACK reasons.
 */
export async function listProxies(db: Db, actor: Actor, rawInput: ProxyListInput): Promise<ProxyList> {
  const input = parseInput(ZProxyListInput, rawInput);
  if (input.namespace) requireRole(actor, "viewer", input.namespace);
  const readable = readableNamespaces(actor);
  if (readable !== "all" && readable.length === 0) requireRole(actor, "viewer");
  const namespace = input.namespace
    ? { namespace: input.namespace }
    : readable === "all"
      ? {}
      : { namespace: { in: readable } };
  const [rows, newest] = await Promise.all([
    db.workload.findMany({
      where: { service: { ...namespace, ...(input.service ? { name: input.service } : {}) } },
      include: { service: { select: { namespace: true, name: true } } },
      orderBy: [
        { service: { namespace: "asc" } },
        { service: { name: "asc" } },
        { version: "asc" },
        { id: "asc" },
      ],
    }),
    db.configGeneration.findFirst({ orderBy: { number: "desc" }, select: { number: true } }),
  ]);
  const last = new Map<string, LastRollout>();
  if (rows.length > 0) {
    // One statement for every listed proxy: its rollout row of the highest generation number.
    const found = await db.$queryRaw<LastRollout[]>`
      SELECT DISTINCT ON (ps."workloadId")
             ps."workloadId" AS "workloadId", g.number AS generation, ps.version, ps.state::text AS state,
             ps.reason
      FROM "ProxyConfigStatus" ps JOIN "ConfigGeneration" g ON g.id = ps."generationId"
      WHERE ps."workloadId" = ANY(${rows.map((w) => w.id)}::text[])
      ORDER BY ps."workloadId", g.number DESC`;
    for (const r of found) last.set(r.workloadId, r);
  }
  const items = rows.map((w) => ({
    id: w.id,
    namespace: w.service.namespace,
    service: w.service.name,
    version: w.version,
    address: w.address,
    identity: w.identity,
    status: w.status,
    proxyVersion: w.proxyVersion,
    ackedVersion: w.ackedVersion,
    nackedVersion: w.nackedVersion,
    nackReason: w.nackReason,
    sync: proxySync(w, last.get(w.id) ?? null),
    connectedAt: w.connectedAt.toISOString(),
    lastSeenAt: w.lastSeenAt.toISOString(),
    certificateExpires: w.certificateExpires ? w.certificateExpires.toISOString() : null,
  }));
  return {
    generation: newest?.number ?? null,
    items: input.sync ? items.filter((p) => p.sync.state === input.sync) : items,
  };
}
