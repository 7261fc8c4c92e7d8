import { randomBytes } from "node:crypto";
import { formatJoinToken, ZNamespace, ZServiceName, zodIssues } from "@trellis/contracts";
import type { Db } from "@trellis/db";
import { requireRole, type Actor } from "./actor.js";
import { audit } from "./audit.js";
import { AppError } from "./errors.js";
import { hashToken } from "./tokens.js";

export interface CreatedJoinToken {
  id: string;
  /** `tj1.<CA fingerprint>.<secret>`: shown once. */
  token: string;
  namespace: string;
  service: string | null;
  expiresAt: Date | null;
}

/**
 * A token that lets proxies join the mesh in `namespace` (and only as `service`, when given). Admins of the
 * namespace only. It carries the mesh CA's fingerprint, so a proxy can verify the control plane with it alone.
 */
export async function createJoinToken(
  db: Db,
  actor: Actor,
  input: { namespace: string; service?: string; name?: string; expiresAt?: Date },
): Promise<CreatedJoinToken> {
  const ns = ZNamespace.safeParse(input.namespace);
  if (!ns.success)
    throw new AppError("VALIDATION_FAILED", "invalid namespace", {
      issues: zodIssues(ns.error).map((i) => ({ ...i, path: "namespace" })),
    });
  if (input.service !== undefined && !ZServiceName.safeParse(input.service).success) {
    throw new AppError("VALIDATION_FAILED", "invalid service name", {
      issues: [{ path: "service", message: "must be a DNS label" }],
    });
  }
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

/** Revokes a join token: proxies can no longer join with it (proxies already joined stay). */
export async function revokeJoinToken(db: Db, actor: Actor, id: string): Promise<void> {
  const row = await db.joinToken.findUnique({ where: { id } });
  if (!row) throw new AppError("NOT_FOUND", "no such join token");
  requireRole(actor, "admin", row.namespace);
  if (!row.revokedAt) await db.joinToken.update({ where: { id }, data: { revokedAt: new Date() } });
  await audit(db, actor, {
    action: "joinToken.revoke",
    targetKind: "JoinToken",
    targetId: id,
    namespace: row.namespace,
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
