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
  /** `tcp` only: the port callers reach it on, which is also its app port on the workloads. */
  port: number | null;
  /** Connected workloads only: a proxy that went away is no endpoint. */
  workloads: RegistryWorkload[];
}

export interface RegistrySnapshot {
  services: RegistryService[];
  /**
   * Unexpired workload certificates that were revoked (their proxies joined with a revoked join token),
   * ordered by serial: every proxy's config carries them (`revokedCertificates`). Absent: none.
   */
  revokedCertificates?: { serial: string; expiresAt: string }[];
}

export async function loadRegistry(db: Db): Promise<RegistrySnapshot> {
  const [rows, revoked] = await Promise.all([loadServices(db), loadRevokedCertificates(db)]);
  return revoked.length > 0 ? { services: rows, revokedCertificates: revoked } : { services: rows };
}

async function loadRevokedCertificates(db: Db): Promise<{ serial: string; expiresAt: string }[]> {
  const rows = await db.revokedCertificate.findMany({
    where: { expiresAt: { gt: new Date() } },
    orderBy: { serial: "asc" },
    select: { serial: true, expiresAt: true },
  });
  return rows.map((r) => ({ serial: r.serial, expiresAt: r.expiresAt.toISOString() }));
}

/** Revoked certificates past their expiry are refused by every TLS stack anyway: they leave the list. */
export async function pruneRevokedCertificates(db: Db): Promise<number> {
  const now = new Date();
  const [r] = await Promise.all([
    db.revokedCertificate.deleteMany({ where: { expiresAt: { lte: now } } }),
    db.issuedCertificate.deleteMany({ where: { expiresAt: { lte: now } } }),
  ]);
  return r.count;
}

async function loadServices(db: Db): Promise<RegistryService[]> {
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
  return rows.map((s) => ({
    namespace: s.namespace,
    name: s.name,
    protocol: s.protocol,
    port: s.port,
    workloads: s.workloads.map((w) => ({ ...w, labels: (w.labels ?? {}) as Record<string, string> })),
  }));
}

/** `lastUsedAt` of a join token is for people: written at most once a minute, not once per joining proxy. */
const TOKEN_LAST_USED_GRANULARITY_MS = 60_000;

/**
 * Registers a connecting proxy, with the certificate just issued to it. A reconnecting proxy sends its
 * workload id and keeps its entry, as long as it still speaks for the same namespace and service.
 *
 * No interactive transaction: a join storm (thousands of proxies at once) would hold a pooled connection per
 * proxy across several round trips and queue every join behind the one join-token row each of them updated,
 * until Prisma gave up ("Unable to start a transaction in the given time") and the proxy was dropped. Each
 * statement here is atomic on its own, and a service row is never deleted while its workloads connect.
 */
export async function registerWorkload(
  db: Db,
  input: {
    node: ProxyNode;
    identity: string;
    workloadId?: string;
    joinTokenId: string;
    replicaId: string;
    certificate: { serial: string; notAfter: Date };
  },
): Promise<{ id: string }> {
  const { node } = input;
  const serviceId = await upsertService(db, node.namespace, node.service);
  const tcpPort = node.tcpPorts?.[0];
  if (tcpPort !== undefined) {
    // A proxy announcing TCP ports makes its service a TCP service, reached on the first of them. Written only
    // when it changes: proxies of one service join with the same flags.
    await db.service.updateMany({
      where: {
        id: serviceId,
        OR: [{ protocol: { not: "tcp" } }, { port: null }, { port: { not: tcpPort } }],
      },
      data: { protocol: "tcp", port: tcpPort },
    });
  }
  const now = new Date();
  const data = {
    serviceId,
    version: node.version,
    labels: node.labels,
    address: node.address,
    identity: input.identity,
    proxyVersion: node.proxyVersion ?? null,
    controlPlaneId: input.replicaId,
    joinTokenId: input.joinTokenId,
    status: "connected" as const,
    connectedAt: now,
    lastSeenAt: now,
    disconnectedAt: null,
    certificateSerial: input.certificate.serial,
    certificateExpires: input.certificate.notAfter,
  };
  if (input.workloadId) {
    // Same service only: a workload id cannot move a registration to another service.
    const r = await db.workload.updateMany({ where: { id: input.workloadId, serviceId }, data });
    if (r.count === 1) return { id: input.workloadId };
  }
  const created = await db.workload.create({ data, select: { id: true } });
  await db.joinToken.updateMany({
    where: {
      id: input.joinTokenId,
      OR: [
        { lastUsedAt: null },
        { lastUsedAt: { lt: new Date(now.getTime() - TOKEN_LAST_USED_GRANULARITY_MS) } },
      ],
    },
    data: { lastUsedAt: now },
  });
  return created;
}

/** The service's id, creating the service on first sight (proxies of one service may join concurrently). */
async function upsertService(db: Db, namespace: string, name: string): Promise<string> {
  const where = { namespace_name: { namespace, name } };
  const found = await db.service.findUnique({ where, select: { id: true } });
  if (found) return found.id;
  try {
    return (await db.service.create({ data: { namespace, name }, select: { id: true } })).id;
  } catch (e) {
    // Another proxy of this service (maybe on another replica) created it a moment ago.
    if ((e as { code?: unknown } | null)?.code !== "P2002") throw e;
    return (await db.service.findUniqueOrThrow({ where, select: { id: true } })).id;
  }
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
