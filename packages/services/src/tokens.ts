import { randomBytes, timingSafeEqual } from "node:crypto";
import {
  ALL_NAMESPACES,
  fieldIssue,
  hasRole,
  roleRank,
  type Role,
  type RoleBinding,
} from "@trellis/contracts";
import { hashToken, type Db } from "@trellis/db";
import type { Actor, Via } from "./actor.js";
import { audit } from "./audit.js";
import { AppError } from "./errors.js";

/** API tokens look like `trls_<43 base64url chars>` (256 bits). The prefix makes leaked tokens greppable. */
export const API_TOKEN_PREFIX = "trls_";

export function generateToken(prefix = API_TOKEN_PREFIX): string {
  return prefix + randomBytes(32).toString("base64url");
}

/** Defined in @trellis/db, where the control plane finds it too: both must hash a secret alike. */
export { hashToken };

export function tokenDisplayPrefix(token: string): string {
  return token.slice(0, API_TOKEN_PREFIX.length + 6);
}

/**
 * A token's rights: its owner's bindings, capped at the token's role and restricted to its namespace.
 * A token can never do more than its owner can do now (revoking a user's role also narrows their tokens).
 */
export function narrowBindings(
  owner: RoleBinding[],
  role: Role | null,
  namespace: string | null,
): RoleBinding[] {
  const out: RoleBinding[] = [];
  for (const b of owner) {
    let ns = b.namespace;
    if (namespace !== null && namespace !== ALL_NAMESPACES) {
      if (ns !== ALL_NAMESPACES && ns !== namespace) continue;
      ns = namespace;
    }
    const r = role !== null && roleRank(role) < roleRank(b.role) ? role : b.role;
    out.push({ role: r, namespace: ns });
  }
  return out;
}

export interface CreatedApiToken {
  id: string;
  name: string;
  token: string;
  prefix: string;
  role: Role | null;
  namespace: string | null;
}

/**
 * Creates an API token for `actor`'s own user. With `value`, that exact secret is stored (bootstrap tokens
 * for automation); otherwise a random one is generated. The secret is returned once and never stored.
 */
export async function createApiToken(
  db: Db,
  actor: Actor,
  input: { name: string; role?: Role; namespace?: string; expiresAt?: Date; value?: string },
): Promise<CreatedApiToken> {
  if (!actor.userId) throw new AppError("FORBIDDEN", "only users can own API tokens");
  const token = input.value ?? generateToken();
  if (input.value !== undefined && input.value.length < 20) {
    throw new AppError("VALIDATION_FAILED", "a token must be at least 20 characters", {
      issues: [fieldIssue({ path: ["value"] }, "must be at least 20 characters")],
    });
  }
  // The new token may not do more than the caller can right now: a narrowed token cannot mint a wider one.
  const owner = (await db.roleBinding.findMany({ where: { userId: actor.userId } })).map((b) => ({
    role: b.role,
    namespace: b.namespace,
  }));
  const wanted = narrowBindings(owner, input.role ?? null, input.namespace ?? null);
  if (wanted.length === 0) throw new AppError("FORBIDDEN", "you hold no role that such a token could carry");
  const beyond = wanted.find((b) => !hasRole(actor.bindings, b.role, b.namespace));
  if (beyond) {
    throw new AppError(
      "FORBIDDEN",
      `a token can carry at most your own rights, and you do not hold ${beyond.role} in ${beyond.namespace === ALL_NAMESPACES ? "every namespace" : `namespace "${beyond.namespace}"`} now`,
    );
  }
  const row = await db.apiToken.create({
    data: {
      name: input.name,
      userId: actor.userId,
      tokenHash: hashToken(token),
      prefix: tokenDisplayPrefix(token),
      role: input.role ?? null,
      namespace: input.namespace ?? null,
      expiresAt: input.expiresAt ?? null,
    },
  });
  await audit(db, actor, {
    action: "apiToken.create",
    targetKind: "ApiToken",
    targetId: row.id,
    details: { name: row.name, role: row.role, namespace: row.namespace },
  });
  return { id: row.id, name: row.name, token, prefix: row.prefix, role: row.role, namespace: row.namespace };
}

interface TokenRow {
  id: string;
  tokenHash: string;
  userId: string;
  role: Role | null;
  namespace: string | null;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  userName: string;
  userDisabled: boolean;
  owner: RoleBinding[];
}

// lastUsedAt is written at most once a minute per token: it is for people, and a write per request would not be.
const LAST_USED_GRANULARITY_MS = 60_000;

/** Resolves a bearer token to an actor, or throws AUTH_TOKEN_INVALID (never says which check failed). */
export async function authenticateToken(
  db: Db,
  token: string,
  meta: { via: Via; ip?: string; userAgent?: string },
): Promise<Actor> {
  const invalid = () => new AppError("AUTH_TOKEN_INVALID", "the API token is invalid, expired or revoked");
  if (token.length < 20 || token.length > 512) throw invalid();
  const hash = hashToken(token);
  // The token, its owner and the owner's bindings in one statement: every REST call makes it before anything
  // else. Prisma's nested include took 12 ms where this takes 3 (p50, on the loaded benchmark machine: it
  // compiles the query each call and reads the three tables in turn).
  const [row] = await db.$queryRaw<TokenRow[]>`
    SELECT t."id", t."tokenHash", t."userId", t."role"::text AS "role", t."namespace", t."lastUsedAt",
           t."expiresAt", t."revokedAt", u."name" AS "userName", u."disabled" AS "userDisabled",
           COALESCE((SELECT json_agg(json_build_object('role', b."role", 'namespace', b."namespace"))
                     FROM "RoleBinding" b WHERE b."userId" = t."userId"), '[]') AS "owner"
    FROM "ApiToken" t JOIN "User" u ON u."id" = t."userId"
    WHERE t."tokenHash" = ${hash}`;
  // The lookup is by hash, so compare the hash in constant time too, for form's sake.
  if (!row || !timingSafeEqual(Buffer.from(row.tokenHash), Buffer.from(hash))) throw invalid();
  const now = new Date();
  if (row.revokedAt || (row.expiresAt && row.expiresAt <= now) || row.userDisabled) throw invalid();
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_GRANULARITY_MS) {
    await db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: now } });
  }
  const owner = row.owner.map((b) => ({ role: b.role, namespace: b.namespace }));
  return {
    kind: "token",
    userId: row.userId,
    name: row.userName,
    tokenId: row.id,
    bindings: narrowBindings(owner, row.role, row.namespace),
    via: meta.via,
    ...(meta.ip ? { ip: meta.ip } : {}),
    ...(meta.userAgent ? { userAgent: meta.userAgent } : {}),
  };
}

/**
 * API tokens (never the secrets): the caller's own, or, for admins of every namespace, another user's (so that
 * after a password reset, the tokens made with the old password can be found and revoked). Namespace admins
 * cannot: a token may carry its owner's rights in other namespaces.
 */
export async function listApiTokens(db: Db, actor: Actor, opts: { user?: string } = {}) {
  let userId = actor.userId;
  if (opts.user !== undefined && opts.user !== actor.name) {
    const isAdmin = actor.bindings.some((b) => b.role === "admin" && b.namespace === ALL_NAMESPACES);
    if (!isAdmin)
      throw new AppError("FORBIDDEN", "only admins of every namespace may list another user's API tokens");
    const owner = await db.user.findUnique({ where: { name: opts.user }, select: { id: true } });
    if (!owner) throw new AppError("NOT_FOUND", `no user "${opts.user}"`);
    userId = owner.id;
  }
  if (!userId) return [];
  return db.apiToken.findMany({
    where: { userId },
    include: { user: { select: { name: true } } },
    orderBy: { createdAt: "desc" },
  });
}

/** Revokes one of the caller's tokens (admins may revoke anyone's). */
export async function revokeApiToken(db: Db, actor: Actor, id: string): Promise<void> {
  const row = await db.apiToken.findUnique({ where: { id } });
  const isAdmin = actor.bindings.some((b) => b.role === "admin" && b.namespace === ALL_NAMESPACES);
  if (!row || (row.userId !== actor.userId && !isAdmin)) throw new AppError("NOT_FOUND", "no such API token");
  if (!row.revokedAt) await db.apiToken.update({ where: { id }, data: { revokedAt: new Date() } });
  await audit(db, actor, { action: "apiToken.revoke", targetKind: "ApiToken", targetId: id });
}
