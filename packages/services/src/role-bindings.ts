// Who may hand out which role, and the one invariant of the user table: there is always at least one
// enabled user with the admin role in every namespace, so the mesh can never be left without an owner.
import {
  ALL_NAMESPACES,
  hasRole,
  roleRank,
  ZRoleGrantInput,
  type Role,
  type RoleBinding,
} from "@trellis/contracts";
import type { Db } from "@trellis/db";
import type { Actor } from "./actor.js";
import { audit } from "./audit.js";
import { endUserConsoleSessions } from "./console-sessions.js";
import { AppError, parseInput } from "./errors.js";

type Tx = Parameters<Parameters<Db["$transaction"]>[0]>[0];

const where = (ns: string) => (ns === ALL_NAMESPACES ? "every namespace" : `namespace "${ns}"`);

/** The namespaces (or `*`) the actor administers. */
export function administeredNamespaces(actor: Actor): string[] {
  return [...new Set(actor.bindings.filter((b) => b.role === "admin").map((b) => b.namespace))];
}

/**
 * Throws unless the actor may grant or revoke `role` in `namespace`: that takes the admin role there (a
 * namespace admin manages their namespace only, `*` bindings need a mesh-wide admin), and never a role the
 * actor does not hold itself. Someone who administers nothing gets FORBIDDEN; an admin reaching beyond
 * their own scope gets ROLE_ESCALATION.
 */
export function requireGrantRight(actor: Actor, role: Role, namespace: string): void {
  const admins = administeredNamespaces(actor);
  if (admins.length === 0)
    throw new AppError("FORBIDDEN", `${actor.name} needs the admin role to manage roles`);
  if (!hasRole(actor.bindings, "admin", namespace) || !hasRole(actor.bindings, role, namespace)) {
    throw new AppError(
      "ROLE_ESCALATION",
      `${actor.name} administers ${admins.map(where).join(", ")} only, so cannot manage the ${role} role in ${where(namespace)}`,
    );
  }
}

/**
 * Serialises every change that could remove a mesh-wide admin (revoking `admin` on `*`, disabling a user),
 * so two such changes running at once cannot both see "another admin remains" and leave none.
 */
export async function lockAdminSet(tx: Tx): Promise<void> {
  // $executeRaw, not $queryRaw: pg_advisory_xact_lock returns `void`, which the pg adapter cannot decode.
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('trellis.global-admins'))`;
}

/** Enabled users holding admin on `*`, other than `exceptUserId`. Call under lockAdminSet. */
export async function otherGlobalAdmins(tx: Tx, exceptUserId: string): Promise<number> {
  return tx.user.count({
    where: {
      id: { not: exceptUserId },
      disabled: false,
      roleBindings: { some: { role: "admin", namespace: ALL_NAMESPACES } },
    },
  });
}

export function lastAdminError(name: string): AppError {
  return new AppError(
    "USER_LAST_ADMIN",
    `${name} is the last enabled admin of every namespace; make someone else an admin of * first`,
  );
}

/** Bindings in a stable order (by namespace, then role), for output and comparison. */
export const sortBindings = (rows: readonly { role: Role; namespace: string }[]): RoleBinding[] =>
  rows
    .map((b) => ({ role: b.role, namespace: b.namespace }))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || roleRank(a.role) - roleRank(b.role));

async function userByName(db: Db | Tx, name: string) {
  const user = await db.user.findUnique({ where: { name }, include: { roleBindings: true } });
  if (!user) throw new AppError("NOT_FOUND", `no user named "${name}"`);
  return user;
}

export interface RoleChange {
  name: string;
  bindings: RoleBinding[];
  changed: boolean;
}

/**
 * Gives a user a role in a namespace (or `*`). Granting a binding the user already has changes nothing.
 * A grant ends the user's console sessions: new rights are used from a fresh sign-in, so a session someone
 * else holds (a copied cookie) does not gain them.
 */
export async function grantRole(
  db: Db,
  actor: Actor,
  rawInput: { name: string; role: Role; namespace: string },
): Promise<RoleChange> {
  const input = parseInput(ZRoleGrantInput, rawInput);
  requireGrantRight(actor, input.role, input.namespace);
  const user = await userByName(db, input.name);
  const had = user.roleBindings.some((b) => b.role === input.role && b.namespace === input.namespace);
  if (!had) {
    await db.$transaction(async (tx) => {
      await tx.roleBinding.upsert({
        where: {
          userId_role_namespace: { userId: user.id, role: input.role, namespace: input.namespace },
        },
        create: { userId: user.id, role: input.role, namespace: input.namespace, createdById: actor.userId },
        update: {},
      });
      const sessionsEnded = await endUserConsoleSessions(tx, user.id);
      await audit(tx, actor, {
        action: "role.grant",
        targetKind: "User",
        targetId: user.id,
        ...(input.namespace !== ALL_NAMESPACES ? { namespace: input.namespace } : {}),
        details: { user: user.name, role: input.role, scope: input.namespace, sessionsEnded },
      });
    });
  }
  const rows = await db.roleBinding.findMany({ where: { userId: user.id } });
  return { name: user.name, bindings: sortBindings(rows), changed: !had };
}

/**
 * Takes one role binding away, and ends the user's console sessions (the caller's own too, when they revoke
 * their own binding). Removing admin on `*` from the last enabled mesh-wide admin is refused
 * (USER_LAST_ADMIN), whoever asks, including that admin.
 */
export async function revokeRole(
  db: Db,
  actor: Actor,
  rawInput: { name: string; role: Role; namespace: string },
): Promise<RoleChange> {
  const input = parseInput(ZRoleGrantInput, rawInput);
  requireGrantRight(actor, input.role, input.namespace);
  return db.$transaction(async (tx) => {
    const globalAdmin = input.role === "admin" && input.namespace === ALL_NAMESPACES;
    if (globalAdmin) await lockAdminSet(tx);
    const user = await userByName(tx, input.name);
    const binding = user.roleBindings.find((b) => b.role === input.role && b.namespace === input.namespace);
    if (binding) {
      if (globalAdmin && !user.disabled && (await otherGlobalAdmins(tx, user.id)) === 0)
        throw lastAdminError(user.name);
      await tx.roleBinding.delete({ where: { id: binding.id } });
      const sessionsEnded = await endUserConsoleSessions(tx, user.id);
      await audit(tx, actor, {
        action: "role.revoke",
        targetKind: "User",
        targetId: user.id,
        ...(input.namespace !== ALL_NAMESPACES ? { namespace: input.namespace } : {}),
        details: { user: user.name, role: input.role, scope: input.namespace, sessionsEnded },
      });
    }
    const rows = await tx.roleBinding.findMany({ where: { userId: user.id } });
    return { name: user.name, bindings: sortBindings(rows), changed: binding !== undefined };
  });
}

/**
 * The rights a set of bindings amounts to, without redundancy: the highest role per namespace, and no
 * namespace binding that a `*` binding already covers.
 */
export function effectiveBindings(bindings: readonly RoleBinding[]): RoleBinding[] {
  const best = new Map<string, Role>();
  for (const b of bindings) {
    const cur = best.get(b.namespace);
    if (cur === undefined || roleRank(b.role) > roleRank(cur)) best.set(b.namespace, b.role);
  }
  const global = best.get(ALL_NAMESPACES);
  const out: RoleBinding[] = [];
  for (const [namespace, role] of best) {
    if (namespace !== ALL_NAMESPACES && global !== undefined && roleRank(global) >= roleRank(role)) continue;
    out.push({ role, namespace });
  }
  return sortBindings(out);
}
