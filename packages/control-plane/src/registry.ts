// The registry in PostgreSQL: services and the proxies (workloads) serving them. Every replica writes the
// workloads it holds streams for; all replicas read the whole registry to compile endpoints.
import type { Db } from "@trellis/db";
import type { ProxyNode } from "@trellis/contracts";

export interface RegistryWorkload {
  id: string;
  version: string;
  address: string;
  identity: string;
  labels: Record<string, string>;
}

export interface RegistryService {
  namespace: string;
  name: string;
  protocol: string;
  /** Connected workloads only: a proxy that went away is no endpoint. */
  workloads: RegistryWorkload[];
}

export interface RegistrySnapshot {
  services: RegistryService[];
}

export async function loadRegistry(db: Db): Promise<RegistrySnapshot> {
  const rows = await db.service.findMany({
    orderBy: [{ namespace: "asc" }, { name: "asc" }],
    include: {
      workloads: {
        where: { status: "connected" },
        orderBy: { id: "asc" },
        select: { id: true, version: true, address: true, identity: true, labels: true },
      },
    },
  });
  return {
    services: rows.map((s) => ({
      namespace: s.namespace,
      name: s.name,
      protocol: s.protocol,
      workloads: s.workloads.map((w) => ({ ...w, labels: (w.labels ?? {}) as Record<string, string> })),
    })),
  };
}

/**
 * Registers a connecting proxy. A reconnecting proxy sends its workload id and keeps its entry, as long as
 * it still speaks for the same namespace and service.
 */
export async function registerWorkload(
  db: Db,
  input: { node: ProxyNode; identity: string; workloadId?: string; joinTokenId: string; replicaId: string },
): Promise<{ id: string }> {
  const { node } = input;
  return db.$transaction(async (tx) => {
    const service = await tx.service.upsert({
      where: { namespace_name: { namespace: node.namespace, name: node.service } },
      create: { namespace: node.namespace, name: node.service },
      update: {},
    });
    const data = {
      serviceId: service.id,
      version: node.version,
      labels: node.labels,
      address: node.address,
      identity: input.identity,
      proxyVersion: node.proxyVersion ?? null,
      controlPlaneId: input.replicaId,
      joinTokenId: input.joinTokenId,
      status: "connected" as const,
      connectedAt: new Date(),
      lastSeenAt: new Date(),
      disconnectedAt: null,
    };
    if (input.workloadId) {
      const existing = await tx.workload.findUnique({ where: { id: input.workloadId } });
      if (existing && existing.serviceId === service.id) {
        return tx.workload.update({ where: { id: existing.id }, data, select: { id: true } });
      }
    }
    await tx.joinToken.update({ where: { id: input.joinTokenId }, data: { lastUsedAt: new Date() } });
    return tx.workload.create({ data, select: { id: true } });
  });
}

export async function disconnectWorkload(db: Db, id: string): Promise<void> {
  await db.workload.updateMany({
    where: { id, status: "connected" },
    data: { status: "disconnected", disconnectedAt: new Date() },
  });
}

/** Heartbeat for the workloads this replica holds, in one statement. */
export async function touchWorkloads(db: Db, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.workload.updateMany({ where: { id: { in: ids } }, data: { lastSeenAt: new Date() } });
}

/** Marks workloads whose replica stopped heartbeating (e.g. crashed) as gone. Returns how many. */
export async function sweepStaleWorkloads(db: Db, staleAfterMs: number): Promise<number> {
  const r = await db.workload.updateMany({
    where: { status: "connected", lastSeenAt: { lt: new Date(Date.now() - staleAfterMs) } },
    data: { status: "disconnected", disconnectedAt: new Date() },
  });
  return r.count;
}
