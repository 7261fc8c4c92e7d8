import { ALL_NAMESPACES, hasRole, type Role, type RoleBinding } from "@trellis/contracts";
import { AppError } from "./errors.js";

export type Via = "console" | "api" | "cli" | "system";

/** Who is calling, with the rights in force for this call (a token's rights are narrowed already). */
export interface Actor {
  kind: "user" | "token" | "system";
  userId: string | null;
  name: string;
  bindings: RoleBinding[];
  via: Via;
  tokenId?: string;
  ip?: string;
  userAgent?: string;
}

export const SYSTEM_ACTOR: Actor = {
  kind: "system",
  userId: null,
  name: "system",
  bindings: [{ role: "admin", namespace: ALL_NAMESPACES }],
  via: "system",
};

/** Throws FORBIDDEN unless the actor holds `role` in `namespace` (`*`: everywhere). */
export function requireRole(actor: Actor, role: Role, namespace: string = ALL_NAMESPACES): void {
  if (!hasRole(actor.bindings, role, namespace)) {
    const where = namespace === ALL_NAMESPACES ? "in every namespace" : `in namespace "${namespace}"`;
    throw new AppError("FORBIDDEN", `${actor.name} needs the ${role} role ${where}`);
  }
}

/**
 * The namespaces an actor may read: `"all"` for a mesh-wide binding, else the bound namespace names.
 * Used to filter lists instead of failing them.
 */
export function readableNamespaces(actor: Actor): "all" | string[] {
  if (actor.bindings.some((b) => b.namespace === ALL_NAMESPACES)) return "all";
  return [...new Set(actor.bindings.map((b) => b.namespace))];
}
