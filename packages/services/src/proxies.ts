import type { ProxyList, ProxyListInput } from "@trellis/contracts";
import type { Db } from "@trellis/db";
import { readableNamespaces, requireRole, type Actor } from "./actor.js";

/** Registered proxies in the namespaces the actor may read, with their config versions and NACK reasons. */
export async function listProxies(db: Db, actor: Actor, input: ProxyListInput): Promise<ProxyList> {
  if (input.namespace) requireRole(actor, "viewer", input.namespace);
  const readable = readableNamespaces(actor);
  if (readable !== "all" && readable.length === 0) requireRole(actor, "viewer");
  const namespace = input.namespace
    ? { namespace: input.namespace }
    : readable === "all"
      ? {}
      : { namespace: { in: readable } };
  const rows = await db.workload.findMany({
    where: { service: { ...namespace, ...(input.service ? { name: input.service } : {}) } },
    include: { service: { select: { namespace: true, name: true } } },
    orderBy: [
      { service: { namespace: "asc" } },
      { service: { name: "asc" } },
      { version: "asc" },
      { id: "asc" },
    ],
  });
  return {
    items: rows.map((w) => ({
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
      connectedAt: w.connectedAt.toISOString(),
      lastSeenAt: w.lastSeenAt.toISOString(),
      certificateExpires: w.certificateExpires ? w.certificateExpires.toISOString() : null,
    })),
  };
}
