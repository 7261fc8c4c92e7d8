// What roles mean, without zod: the role names, their order and the check of a set of bindings. Console
// pages that only ask "may this user…?" (the navigation, the buttons) import these and load no schema
// library; roles.ts builds its schemas from the same constants, so a role is still spelled once.
// Edit this file when a role is added or what a role covers changes; edit roles.ts for the wire shape.

/**
 * Roles are cumulative: each includes the rights of the ones before it.
 * - viewer: reads everything in its namespaces.
 * - editor: proposes changes (change requests).
 * - approver: approves or rejects other people's change requests.
 * - admin: users, roles, join tokens, API tokens, settings.
 */
export const ROLES = ["viewer", "editor", "approver", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** `*` binds a role in every namespace. */
export const ALL_NAMESPACES = "*";

/** A role in a namespace (or `*`): the shape ZRoleBinding (roles.ts) parses. */
export interface RoleGrant {
  role: Role;
  namespace: string;
}

export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

/** Whether a set of bindings grants at least `role` in `namespace` (`*` asks for a mesh-wide grant). */
export function hasRole(bindings: readonly RoleGrant[], role: Role, namespace: string): boolean {
  const need = roleRank(role);
  return bindings.some(
    (b) =>
      roleRank(b.role) >= need &&
      (b.namespace === ALL_NAMESPACES || (namespace !== ALL_NAMESPACES && b.namespace === namespace)),
  );
}
