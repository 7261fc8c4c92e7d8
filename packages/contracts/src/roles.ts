// The wire shape of roles and role bindings. The names, their order and hasRole live in role-rules.ts (no
// zod), which pages that only check rights import without loading the schema library.
import { z } from "zod";
import { ALL_NAMESPACES, ROLES } from "./role-rules.js";

export { ALL_NAMESPACES, ROLES, hasRole, roleRank, type Role } from "./role-rules.js";

export const ZRole = z.enum(ROLES);

export const ZRoleScope = z.union([z.literal(ALL_NAMESPACES), z.string().min(1)]);

export const ZRoleBinding = z.object({
  role: ZRole,
  namespace: ZRoleScope,
});
export type RoleBinding = z.infer<typeof ZRoleBinding>;
