import { randomBytes } from "node:crypto";
import {
  encodeNotifyPayload,
  formatJoinToken,
  NOTIFY_CHANNELS,
  ZJoinTokenCreateInput,
  ZJoinTokenRevokedPayload,
} from "@trellis/contracts";
import type { Db } from "@trellis/db";
import { requireRole, type Actor } from "./actor.js";
import { audit } from "./audit.js";
import { AppError, parseInput } from "./errors.js";
import { hashToken } from "./tokens.js";

export interface CreatedJoinToken {
  id: string;
  /** `tj1.<CA fingerprint>.<secret>`: shown once. */
  token: string;
  namespace: string;
  service: string | null;
  expiresAt: Date | null;
}

/** What a token binds proxies to; its name and lifetime the API has already turned into `name`/`expiresAt`. */
const ZJoinTokenScope = ZJoinTokenCreateInput.pick({ namespace: true, service: true });

/**
 * A token that lets proxies join the mesh in `namespace` (and only as `service`, when given). Admins of the
 * namespace only. It carries the mesh CA's fingerprint, so a proxy can verify the control plane with it alone.
 */
export async function createJoinToken(
  db: Db,
  actor: Actor,
  input: { namespace: string; service?: string; name?: string; expiresAt?: Date },
): Promise<CreatedJoinToken> {
  parseInput(ZJoinTokenScope, { namespace: input.namespace, service: input.service });
  requireRole(actor, "admin", input.namespace);
  const ca = await db.certificateAuthority.findFirst({
    where: { active: true },
    orderBy: { createdAt: "asc" },
  });
  if (!ca)
    throw new AppError("CONFLICT", "the mesh CA does not exist yet: start the control plane once first");
  const secret = randomBytes(32).toString("base64url");
  const token = formatJoinToken({ caFingerprint: ca.fingerprint, secret });
  const row = await db.joinToken.create({
    data: {
      name: input.name ?? null,
      namespace: input.namespace,
      service: input.service ?? null,
      tokenHash: hashToken(secret),
      prefix: `tj1.${secret.slice(0, 6)}`,
      createdById: actor.userId,
      expiresAt: input.expiresAt ?? null,
    },
  });
  await audit(db, actor, {
    action: "joinToken.create",
    targetKind: "JoinToken",
    targetId: row.id,
    namespace: row.namespace,
    details: { service: row.service, name: row.name },
  });
  return { id: row.id, token, namespace: row.namespace, service: row.service, expiresAt: row.expiresAt };
}

export interface RevokedJoinToken {
  /** Connected proxies that joined with the token: marked gone, their streams closed by their replicas. */
  evicted: number;
  /** Unexpired workload certificates issued to them, now refused by every sidecar. */
  certificatesRevoked: number;
}

/**
 * Revokes a join token: proxies can no longer join with it, and the ones that did are evicted. In one
 * transaction: the token is marked revoked, its connected workloads are marked gone (other proxies' configs drop
 * them as endpoints), the unexpired certificates issued to its workloads are added to the revocation list that
 * every proxy's config carries, and a NOTIFY (delivered on commit) makes every control-plane replica close the
 * streams of those proxies (server.ts) and push the new list. Revoking again repeats the eviction, so a proxy
 * that slipped in while the first one ran is caught too.
 */
export async function revokeJoinToken(db: Db, actor: Actor, id: string): Promise<RevokedJoinToken> {
  const row = await db.joinToken.findUnique({ where: { id } });
  if (!row) throw new AppError("NOT_FOUND", "no such join token");
  requireRole(actor, "admin", row.namespace);
  return db.$transaction(async (tx) => {
    const now = new Date();
    if (!row.revokedAt) await tx.joinToken.update({ where: { id }, data: { revokedAt: now } });
    // Every certificate issued under the token (joins, renewals, reconnects), and the one recorded on each of
    // its workloads (which covers certificates issued before issuance was recorded).
    const issued = await tx.issuedCertificate.findMany({
      where: { joinTokenId: id, expiresAt: { gt: now } },
    });
    const workloads = await tx.workload.findMany({
      where: { joinTokenId: id, certificateSerial: { not: null }, certificateExpires: { gt: now } },
      select: { id: true, identity: true, certificateSerial: true, certificateExpires: true },
    });
    const bySerial = new Map(
      [
        ...issued.map((c) => ({
          serial: c.serial,
          expiresAt: c.expiresAt,
          spiffeId: c.spiffeId,
          workloadId: c.workloadId,
          joinTokenId: id,
        })),
        ...workloads.map((w) => ({
          serial: w.certificateSerial!,
          expiresAt: w.certificateExpires!,
          spiffeId: w.identity,
          workloadId: w.id,
          joinTokenId: id,
        })),
      ].map((c) => [c.serial, c]),
    );
    const certs = await tx.revokedCertificate.createMany({
      data: [...bySerial.values()],
      skipDuplicates: true,
    });
    const gone = await tx.workload.updateMany({
      where: { joinTokenId: id, status: "connected" },
      data: { status: "disconnected", disconnectedAt: now },
    });
    const evicted = (row.evictedProxies ?? 0) + gone.count;
    await tx.joinToken.update({ where: { id }, data: { evictedProxies: evicted } });
    await audit(tx, actor, {
      action: "joinToken.revoke",
      targetKind: "JoinToken",
      targetId: id,
      namespace: row.namespace,
      details: { evictedProxies: gone.count, certificatesRevoked: certs.count },
    });
    // Every control-plane replica LISTENs here and closes the streams of the proxies that joined with the token.
    const payload = encodeNotifyPayload(ZJoinTokenRevokedPayload, { joinTokenId: id });
    await tx.$executeRaw`SELECT pg_notify(${NOTIFY_CHANNELS.joinTokenRevoked}, ${payload})`;
    return { evicted: gone.count, certificatesRevoked: certs.count };
  });
}

/** Join tokens of the namespaces the actor administers (never the secrets). */
export async function listJoinTokens(db: Db, actor: Actor, input: { namespace?: string } = {}) {
  const admin = actor.bindings.filter((b) => b.role === "admin").map((b) => b.namespace);
  if (admin.length === 0) requireRole(actor, "admin", input.namespace ?? "*");
  if (input.namespace) requireRole(actor, "admin", input.namespace);
  const where = input.namespace
    ? { namespace: input.namespace }
    : admin.includes("*")
      ? {}
      : { namespace: { in: admin } };
  return db.joinToken.findMany({ where, orderBy: { createdAt: "desc" } });
}
