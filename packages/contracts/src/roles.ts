import { z } from "zod";

/**
 * Roles are cumulative: each includes the rights of the ones before it.
 * - viewer: reads everything in its namespaces.
 * - editor: proposes changes (change requests).
 * - approver: approves or rejects other people's change requests.
 * - admin: users, roles, join tokens, API tokens, settings.
 */
export const ROLES = ["viewer", "editor", "approver", "admin"] as const;
export const ZRole = z.enum(ROLES);
export type Role = z.infer<typeof ZRole>;

/** `*` binds a role in every namespace. */
export const ALL_NAMESPACES = "*";
export const ZRoleScope = z.union([z.literal(ALL_NAMESPACES), z.string().min(1)]);

export const ZRoleBinding = z.object({
  role: ZRole,
  namespace: ZRoleScope,
});
export type RoleBinding = z.infer<typeof ZRoleBinding>;

export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

/** Whether a set of bindings grants at least `role` in `namespace` (`*` asks for a mesh-wide grant). */
export function hasRole(bindings: readonly RoleBinding[], role: Role, namespace: string): boolean {
  const need = roleRank(role);
  return bindings.some(
    (b) =>
      roleRank(b.role) >= need &&
      (b.namespace === ALL_NAMESPACES || (namespace !== ALL_NAMESPACES && b.namespace === namespace)),
  );
}
