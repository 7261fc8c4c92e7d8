// Administering users: list, create, disable/enable, reset passwords, and `me`. Creating users, disabling
// them and setting their passwords act on the whole mesh, so they take an admin of `*`; namespace admins
// may list users (to grant roles in their namespace, see role-bindings.ts).
import { randomBytes } from "node:crypto";
import {
  ALL_NAMESPACES,
  ZUserCreateInput,
  ZUserPasswordResetInput,
  type Me,
  type Role,
  type UserSummary,
} from "@trellis/contracts";
import type { Db } from "@trellis/db";
import { requireRole, type Actor } from "./actor.js";
import { audit } from "./audit.js";
import { endUserConsoleSessions } from "./console-sessions.js";
import { AppError, parseInput } from "./errors.js";
import { hashPassword } from "./passwords.js";
import {
  administeredNamespaces,
  effectiveBindings,
  lastAdminError,
  lockAdminSet,
  otherGlobalAdmins,
  requireGrantRight,
  sortBindings,
} from "./role-bindings.js";

type UserRow = NonNullable<Awaited<ReturnType<Db["user"]["findFirst"]>>> & {
  roleBindings: { role: Role; namespace: string }[];
};

function summary(u: UserRow, visible: (ns: string) => boolean): UserSummary {
  return {
    id: u.id,
    name: u.name,
    email: u.email,
    displayName: u.displayName,
    disabled: u.disabled,
    hasPassword: u.passwordHash !== null,
    bindings: sortBindings(u.roleBindings.filter((b) => visible(b.namespace))),
    lastLoginAt: u.lastLoginAt ? u.lastLoginAt.toISOString() : null,
    createdAt: u.createdAt.toISOString(),
  };
}

/**
 * Every user, for admins. A mesh-wide admin sees all bindings; a namespace admin sees the bindings in the
 * namespaces they administer and the mesh-wide ones (which apply there too), not the rest.
 */
export async function listUsers(db: Db, actor: Actor): Promise<UserSummary[]> {
  const admins = administeredNamespaces(actor);
  if (admins.length === 0) requireRole(actor, "admin");
  const all = admins.includes(ALL_NAMESPACES);
  const rows = await db.user.findMany({ orderBy: { name: "asc" }, include: { roleBindings: true } });
  return rows.map((u) => summary(u, (ns) => all || ns === ALL_NAMESPACES || admins.includes(ns)));
}

function isUniqueViolation(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === "P2002";
}

/**
 * Creates a user, with a password (argon2id) or none (single sign-on only), and optionally role bindings,
 * each checked like a grant. Mesh-wide admins only.
 */
export async function createUser(
  db: Db,
  actor: Actor,
  rawInput: {
    name: string;
    email?: string;
    displayName?: string;
    password?: string;
    bindings?: { role: Role; namespace: string }[];
  },
): Promise<UserSummary> {
  const input = parseInput(ZUserCreateInput, rawInput);
  requireRole(actor, "admin", ALL_NAMESPACES);
  const bindings = input.bindings ?? [];
  for (const b of bindings) requireGrantRight(actor, b.role, b.namespace);
  const unique = [...new Map(bindings.map((b) => [`${b.role}@${b.namespace}`, b])).values()];
  // Names are unique ignoring case (the index on lower(name)): `ADMIN` beside `admin` would read as the same
  // person in the audit log, and shares its sign-in limit.
  const [nameClash] = await db.$queryRaw<{ name: string }[]>`
    SELECT "name" FROM "User" WHERE lower("name") = lower(${input.name}) LIMIT 1`;
  if (nameClash)
    throw new AppError(
      "CONFLICT",
      nameClash.name === input.name
        ? `a user named "${input.name}" exists already`
        : `a user named "${nameClash.name}" exists already, and names may not differ only in case`,
    );
  if (input.email && (await db.user.findUnique({ where: { email: input.email }, select: { id: true } })))
    throw new AppError("CONFLICT", "another user has this email address");
  const passwordHash = input.password !== undefined ? await hashPassword(input.password) : null;
  let user: UserRow;
  try {
    user = await db.$transaction(async (tx) => {
      const u = await tx.user.create({
        data: {
          name: input.name,
          email: input.email ?? null,
          displayName: input.displayName ?? null,
          passwordHash,
          roleBindings: {
            create: unique.map((b) => ({ role: b.role, namespace: b.namespace, createdById: actor.userId })),
          },
        },
        include: { roleBindings: true },
      });
      await audit(tx, actor, {
        action: "user.create",
        targetKind: "User",
        targetId: u.id,
        details: {
          name: u.name,
          email: u.email,
          sso: passwordHash === null,
          bindings: unique.map((b) => `${b.role}:${b.namespace}`),
        },
      });
      return u;
    });
  } catch (e) {
    // Two creations raced past the check above: the database's unique index decides.
    if (isUniqueViolation(e)) throw new AppError("CONFLICT", "a user with this name or email exists already");
    throw e;
  }
  return summary(user, () => true);
}

/**
 * Disables (or re-enables) a user: a disabled user cannot sign in, their console sessions end (enabling them
 * again does not bring those back), and their API tokens stop working at their next request. Nobody disables
 * themselves, nor the last enabled mesh-wide admin.
 */
export async function setUserDisabled(
  db: Db,
  actor: Actor,
  input: { name: string; disabled: boolean },
): Promise<UserSummary> {
  requireRole(actor, "admin", ALL_NAMESPACES);
  return db.$transaction(async (tx) => {
    if (input.disabled) await lockAdminSet(tx);
    const user = await tx.user.findUnique({ where: { name: input.name }, include: { roleBindings: true } });
    if (!user) throw new AppError("NOT_FOUND", `no user named "${input.name}"`);
    if (input.disabled && user.id === actor.userId)
      throw new AppError("CONFLICT", "you cannot disable yourself; ask another admin");
    if (user.disabled === input.disabled) return summary(user, () => true);
    const isGlobalAdmin = user.roleBindings.some((b) => b.role === "admin" && b.namespace === ALL_NAMESPACES);
    if (input.disabled && isGlobalAdmin && (await otherGlobalAdmins(tx, user.id)) === 0)
      throw lastAdminError(user.name);
    const updated = await tx.user.update({
      where: { id: user.id },
      data: { disabled: input.disabled },
      include: { roleBindings: true },
    });
    const sessionsEnded = input.disabled ? await endUserConsoleSessions(tx, user.id) : 0;
    await audit(tx, actor, {
      action: input.disabled ? "user.disable" : "user.enable",
      targetKind: "User",
      targetId: user.id,
      details: { name: user.name, ...(input.disabled ? { sessionsEnded } : {}) },
    });
    return summary(updated, () => true);
  });
}

/**
 * Sets a user's password (mesh-wide admins). Without one, a random password is generated and returned
 * once; it is never stored or logged in the clear. The user's console sessions end (someone who knew the old
 * password may hold one); their API tokens are separate credentials and stay until revoked or the user is
 * disabled.
 */
export async function resetUserPassword(
  db: Db,
  actor: Actor,
  rawInput: { name: string; password?: string },
): Promise<{ name: string; generatedPassword: string | null }> {
  const input = parseInput(ZUserPasswordResetInput, rawInput);
  requireRole(actor, "admin", ALL_NAMESPACES);
  const user = await db.user.findUnique({ where: { name: input.name } });
  if (!user) throw new AppError("NOT_FOUND", `no user named "${input.name}"`);
  const generated = input.password === undefined ? randomBytes(18).toString("base64url") : null;
  const passwordHash = await hashPassword(input.password ?? generated!);
  const sessionsEnded = await db.$transaction(async (tx) => {
    await tx.user.update({ where: { id: user.id }, data: { passwordHash } });
    return endUserConsoleSessions(tx, user.id);
  });
  await audit(db, actor, {
    action: "user.passwordReset",
    targetKind: "User",
    targetId: user.id,
    details: { name: user.name, generated: generated !== null, sessionsEnded },
  });
  return { name: user.name, generatedPassword: generated };
}

/** Who the caller is: their user, their own bindings, and the (possibly token-narrowed) rights of this call. */
export async function getMe(db: Db, actor: Actor): Promise<Me> {
  const user = actor.userId
    ? await db.user.findUnique({ where: { id: actor.userId }, include: { roleBindings: true } })
    : null;
  const token = actor.tokenId ? await db.apiToken.findUnique({ where: { id: actor.tokenId } }) : null;
  return {
    id: actor.userId,
    name: actor.name,
    displayName: user?.displayName ?? null,
    email: user?.email ?? null,
    kind: actor.kind,
    via: actor.via,
    token: token ? { id: token.id, name: token.name, role: token.role, namespace: token.namespace } : null,
    bindings: user ? sortBindings(user.roleBindings) : sortBindings(actor.bindings),
    effective: effectiveBindings(actor.bindings),
  };
}
