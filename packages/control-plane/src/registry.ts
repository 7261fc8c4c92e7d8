// The registry in PostgreSQL: services and the proxies (workloads) serving them. Every replica writes the
// workloads it holds streams for; all replicas read the whole registry to compile endpoints.
import { randomUUID } from "node:crypto";
import { Prisma, type Db } from "@trellis/db";
import type { ProxyNode } from "@trellis/contracts";
import { isUniqueViolation, type VipAllocator } from "./vips.js";

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
  /** Its virtual IP; null until a replica allocates one (see vips.ts). */
  vip: string | null;
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

/**
 * Every service with its connected workloads, services by namespace and name, workloads by id, in one raw
 * statement: PostgreSQL builds the list as JSON (a LEFT JOIN LATERAL per service) and this process parses one
 * string. Every registry recompute (once a second while proxies join) reads it whole. Measured at 200 services
 * and 2,000 workloads (bench/registry-read.mjs): the Prisma `findMany` with `include` it replaced cost ~18 ms
 * of this process's CPU per read (its query compiler and result mapping), a raw LEFT JOIN of one row per
 * workload ~11-15 ms (Prisma's raw path converts each value), this ~5-6 ms, and PostgreSQL ~8 ms against ~6
 * ms for the rows: less in total too. registry.test.ts checks it reads what the Prisma query read.
 */
async function loadServices(db: Db): Promise<RegistryService[]> {
  const [row] = await db.$queryRaw<[{ services: string }]>`
    SELECT COALESCE(json_agg(json_build_object(
        'namespace', s.namespace, 'name', s.name, 'protocol', s.protocol, 'port', s.port, 'vip', s.vip,
        'workloads', COALESCE(w.list, '[]'::json)
      ) ORDER BY s.namespace, s.name), '[]'::json)::text AS services
    FROM "Service" s
    LEFT JOIN LATERAL (
      SELECT json_agg(json_build_object(
          'id', w.id, 'version', w.version, 'address', w.address, 'identity', w.identity,
          'labels', COALESCE(w.labels, '{}'::jsonb)
        ) ORDER BY w.id) AS list
      FROM "Workload" w
      WHERE w."serviceId" = s.id AND w.status = 'connected'::"WorkloadStatus"
    ) w ON true`;
  // The keys are built above in RegistryService's order: configs compiled from it hash as before.
  return JSON.parse(row.services) as RegistryService[];
}

/** `lastUsedAt` of a join token is for people: written at most once a minute, not once per joining proxy. */
const TOKEN_LAST_USED_GRANULARITY_MS = 60_000;
/** When this process last wrote a token's `lastUsedAt`: within the granularity, the write is not even tried. */
const tokenLastWritten = new Map<string, number>();

/** A Prisma DateTime column's value (UTC, no time zone) from a Date, for raw SQL. */
const utc = (d: Date) => Prisma.sql`(${d.toISOString()}::timestamptz AT TIME ZONE 'UTC')`;

/**
 * Registers a connecting proxy, with the certificate just issued to it. A reconnecting proxy sends its
 * workload id and keeps its entry, as long as it still speaks for the same namespace and service.
 *
 * No interactive transaction: a join storm (thousands of proxies at once) would hold a pooled connection per
 * proxy across several round trips and queue every join behind the one join-token row each of them updated,
 * until Prisma gave up ("Unable to start a transaction in the given time") and the proxy was dropped. Each
 * statement here is atomic on its own, and a service row is never deleted while its workloads connect.
 *
 * The statements every join runs are raw SQL: a Prisma model query cost ~5 ms of CPU here (its query
 * compiler runs per call), a raw one ~1 ms, and a join storm is thousands of joins (docs/decisions/019).
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
    /** Gives a service its VIP when its first proxy creates it. */
    vips: VipAllocator;
  },
): Promise<{ id: string; connectedAt: Date }> {
  const { node } = input;
  const service = await upsertService(db, input.vips, node.namespace, node.service);
  const serviceId = service.id;
  if (node.tcpPorts?.[0] !== undefined || service.protocol === "tcp")
    await claimTcpPort(db, service, node, input.workloadId);
  const now = new Date();
  const at = utc(now);
  const labels = JSON.stringify(node.labels);
  const { serial, notAfter } = input.certificate;
  if (input.workloadId) {
    // Same service only: a workload id cannot move a registration to another service.
    const updated = await db.$executeRaw`
      UPDATE "Workload" SET version = ${node.version}, labels = ${labels}::jsonb, address = ${node.address},
        identity = ${input.identity}, "proxyVersion" = ${node.proxyVersion ?? null},
        "controlPlaneId" = ${input.replicaId}, "joinTokenId" = ${input.joinTokenId},
        status = 'connected'::"WorkloadStatus", "connectedAt" = ${at}, "lastSeenAt" = ${at},
        "disconnectedAt" = NULL, "certificateSerial" = ${serial}, "certificateExpires" = ${utc(notAfter)}
      WHERE id = ${input.workloadId} AND "serviceId" = ${serviceId}`;
    if (updated === 1) return { id: input.workloadId, connectedAt: now };
  }
  const id = randomUUID();
  await db.$executeRaw`
    INSERT INTO "Workload" (id, "serviceId", version, labels, address, identity, "proxyVersion", "controlPlaneId",
      "joinTokenId", status, "connectedAt", "lastSeenAt", "certificateSerial", "certificateExpires", "createdAt")
    VALUES (${id}, ${serviceId}, ${node.version}, ${labels}::jsonb, ${node.address}, ${input.identity},
      ${node.proxyVersion ?? null}, ${input.replicaId}, ${input.joinTokenId}, 'connected'::"WorkloadStatus",
      ${at}, ${at}, ${serial}, ${utc(notAfter)}, ${at})`;
  const written = tokenLastWritten.get(input.joinTokenId);
  if (written === undefined || now.getTime() - written >= TOKEN_LAST_USED_GRANULARITY_MS) {
    tokenLastWritten.set(input.joinTokenId, now.getTime());
    const before = utc(new Date(now.getTime() - TOKEN_LAST_USED_GRANULARITY_MS));
    await db.$executeRaw`
      UPDATE "JoinToken" SET "lastUsedAt" = ${at}
      WHERE id = ${input.joinTokenId} AND ("lastUsedAt" IS NULL OR "lastUsedAt" < ${before})`;
  }
  return { id, connectedAt: now };
}

interface ServiceRow {
  id: string;
  protocol: string;
  port: number | null;
}

/**
 * The service, creating it with its VIP on first sight. Proxies of one service may join concurrently, on any
 * replica, so a create refused by a unique index means one of two things: another proxy of the service
 * created it (it is there now), or another service holds the VIP tried (the next address is tried).
 */
async function upsertService(
  db: Db,
  vips: VipAllocator,
  namespace: string,
  name: string,
): Promise<ServiceRow> {
  const where = { namespace_name: { namespace, name } };
  const select = { id: true, protocol: true, port: true };
  const [found] = await db.$queryRaw<ServiceRow[]>`
    SELECT id, protocol, port FROM "Service" WHERE namespace = ${namespace} AND name = ${name}`;
  if (found) return found;
  const create = async (vip: string | null): Promise<ServiceRow | null> => {
    try {
      return await db.service.create({ data: { namespace, name, vip }, select });
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      return null;
    }
  };
  // Set inside the claims below (spelled so that TypeScript does not take it for null after them).
  let row = null as ServiceRow | null;
  const outcome = await vips.allocate(namespace, name, async (vip) => {
    row = await create(vip);
    if (row !== null) return "claimed";
    row = await db.service.findUnique({ where, select });
    return row !== null ? "settled" : "taken";
  });
  if (row !== null) return row;
  if (outcome === "full") vips.full([`${namespace}/${name}`]);
  // No free VIP: the service is reached by name only (a replica's start gives it one once there is room).
  return (await create(null)) ?? (await db.service.findUniqueOrThrow({ where, select }));
}

/** A TCP port a proxy may not announce; the proxy is refused with `code` (see docs/decisions/008). */
export class TcpPortError extends Error {
  constructor(
    readonly code: "TCP_PORT_TAKEN" | "TCP_PORT_MISMATCH",
    message: string,
  ) {
    super(message);
    this.name = "TcpPortError";
  }
}

/**
 * Who may make a service a TCP service, on which port (docs/decisions/008-tcp-port-ownership.md):
 * - the port is the announcing proxy's own service's (its join token's scope decided which service that is);
 * - within a namespace, one live service per port: a port another service with connected proxies holds is
 *   refused (TCP_PORT_TAKEN); a holder with none left loses it;
 * - the proxies of a service announce one port: while others of it are connected, a proxy announcing another
 *   first port, or none, is refused (TCP_PORT_MISMATCH); when none are, the joining proxy decides, so a service
 *   can move its port or go back to HTTP.
 * Namespaces do not compete for ports: another namespace's TCP service is bound only by sidecars that declared
 * it among the services they call (compiler, `foreignTcp`). Two services of one namespace joining at the same
 * instant on one port can both pass these checks; the compiler then binds the older claim (`tcpPortLosers`).
 */
async function claimTcpPort(
  db: Db,
  service: ServiceRow,
  node: ProxyNode,
  workloadId: string | undefined,
): Promise<void> {
  const port = node.tcpPorts?.[0] ?? null;
  const key = `${node.namespace}/${node.service}`;
  if (service.protocol === "tcp" && service.port !== port) {
    const others = await db.workload.count({
      where: {
        serviceId: service.id,
        status: "connected",
        ...(workloadId ? { id: { not: workloadId } } : {}),
      },
    });
    if (others > 0)
      throw new TcpPortError(
        "TCP_PORT_MISMATCH",
        `${key} is reached over TCP on port ${service.port}, as its ${others} connected proxies announce; this proxy announces ${port === null ? "no TCP port" : `port ${port}`}`,
      );
  }
  if (port === null) {
    // No connected proxy announces the port any more: the service is HTTP again, and the port free.
    await db.service.updateMany({
      where: { id: service.id, protocol: "tcp" },
      data: { protocol: "http", port: null },
    });
    return;
  }
  const held = { namespace: node.namespace, protocol: "tcp", port, id: { not: service.id } };
  const holder = await db.service.findFirst({
    where: { ...held, workloads: { some: { status: "connected" } } },
    select: { name: true },
  });
  if (holder)
    throw new TcpPortError(
      "TCP_PORT_TAKEN",
      `TCP port ${port} belongs to ${node.namespace}/${holder.name}, which has connected proxies; ${key} cannot announce it`,
    );
  // Holders without a connected proxy lose the port.
  await db.service.updateMany({
    where: { ...held, workloads: { none: { status: "connected" } } },
    data: { protocol: "http", port: null },
  });
  if (service.protocol !== "tcp" || service.port !== port)
    await db.service.update({ where: { id: service.id }, data: { protocol: "tcp", port } });
}

/**
 * Marks a workload gone when the stream that registered it at `connectedAt` ends. Only that registration: a
 * proxy that lost its stream silently (a partition) has often registered again by the time the old stream's
 * heartbeat runs out — on another replica, or on this one — and the old stream must not take it out of every
 * caller's config then. `connectedAt` is written by each registration, so it tells them apart.
 */
export async function disconnectWorkload(db: Db, id: string, connectedAt: Date): Promise<void> {
  await db.workload.updateMany({
    where: { id, status: "connected", connectedAt },
    data: { status: "disconnected", disconnectedAt: new Date() },
  });
}

/**
 * The order every statement that updates many workload rows takes their locks in: by id, in a locking CTE
 * (`FOR NO KEY UPDATE`, what an UPDATE takes, after the sort). The heartbeat, the batched ACK write
 * (rollout.ts) and the sweep run at once during a join storm; when each let the planner choose (an index scan
 * in id order, a hash join in physical order), two of them could each hold a row the other waited for:
 * "deadlock detected", the heartbeat lost for a round (row-locks.test.ts saw it in 8 rounds of 15).
 */
export const LOCK_ORDER = "ORDER BY id FOR NO KEY UPDATE";

/** Heartbeat for the workloads this replica holds, in one statement (rows locked in id order). */
export async function touchWorkloads(db: Db, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.$executeRaw`
    WITH locked AS (
      SELECT id FROM "Workload" WHERE id = ANY(${ids}::text[]) ${Prisma.raw(LOCK_ORDER)}
    )
    UPDATE "Workload" w SET "lastSeenAt" = ${utc(new Date())} FROM locked WHERE w.id = locked.id`;
}

/**
 * Marks gone the workloads whose replica stopped heartbeating them (it crashed, or closed their streams with
 * 1001 and kept their registrations so that they rejoin elsewhere), and returns how many. Not while the fleet
 * is still rejoining: a restart under thousands of proxies takes minutes (4 at 5,000 here, more than the sweep's
 * `staleAfterMs`), and each workload swept before its proxy is back is an endpoint removed from, then added
 * back to, every proxy's config (92,610 configs, 3.2 GB in that restart). So a workload is swept when it is
 * stale and either no proxy has re-registered (a hello with its workload id, on any replica) within
 * `staleAfterMs`, or it is stale beyond `maxStaleMs` whatever the rest of the fleet does. A proxy that really
 * died is thus gone `staleAfterMs` after the last rejoin, and never later than `maxStaleMs` after its last
 * heartbeat (plus a housekeeping interval).
 *
 * A re-registration is a row connected again after it was created (the UPDATE of `registerWorkload`):
 * `connectedAt` later than `createdAt` (an insert writes both with one timestamp).
 */
export async function sweepStaleWorkloads(
  db: Db,
  o: { staleAfterMs: number; maxStaleMs: number },
): Promise<number> {
  const now = Date.now();
  const stale = utc(new Date(now - o.staleAfterMs));
  const abandoned = utc(new Date(now - o.maxStaleMs));
  // Rows locked in id order (LOCK_ORDER); FOR NO KEY UPDATE checks the staleness again on a row that changed.
  return await db.$executeRaw`
    WITH stale AS (
      SELECT id FROM "Workload"
      WHERE status = 'connected'::"WorkloadStatus" AND "lastSeenAt" < ${stale}
        AND ("lastSeenAt" < ${abandoned} OR NOT EXISTS (
          SELECT 1 FROM "Workload" r
          WHERE r.status = 'connected'::"WorkloadStatus" AND r."connectedAt" >= ${stale}
            AND r."connectedAt" > r."createdAt"))
      ${Prisma.raw(LOCK_ORDER)}
    )
    UPDATE "Workload" w SET status = 'disconnected'::"WorkloadStatus", "disconnectedAt" = ${utc(new Date(now))}
    FROM stale WHERE w.id = stale.id`;
}
