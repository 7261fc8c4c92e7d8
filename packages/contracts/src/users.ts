import { z } from "zod";
import { ZNamespace, ZPassword, ZUserName } from "./names.js";
import { ALL_NAMESPACES, ZRole, ZRoleBinding } from "./roles.js";
import { zSingleLine } from "./text.js";
import { ZLifetime } from "./tokens.js";

/** Where a new binding applies: a valid namespace name, or `*` for every namespace. */
export const ZGrantScope = z.union([z.literal(ALL_NAMESPACES), ZNamespace]);

/** A binding as an admin asks for it (stricter than stored bindings: the namespace must be a valid name). */
export const ZRoleBindingInput = z.object({ role: ZRole, namespace: ZGrantScope.default(ALL_NAMESPACES) });
export type RoleBindingInput = z.input<typeof ZRoleBindingInput>;

/**
 * A user as administrators see it. Never carries the password hash; `hasPassword: false` means the user
 * signs in only through single sign-on.
 */
export const ZUserSummary = z.object({
  id: z.string(),
  name: ZUserName,
  email: z.string().nullable(),
  displayName: z.string().nullable(),
  disabled: z.boolean(),
  hasPassword: z.boolean().describe("false: signs in only through single sign-on"),
  bindings: z
    .array(ZRoleBinding)
    .describe("role bindings; a namespace admin sees only those in the namespaces they administer"),
  lastLoginAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
});
export type UserSummary = z.infer<typeof ZUserSummary>;

export const ZUserList = z.object({ items: z.array(ZUserSummary) });
export type UserList = z.infer<typeof ZUserList>;

export const ZUserCreateInput = z.object({
  name: ZUserName.describe("login name, unique"),
  email: z.email().max(254).optional().describe("used to match single sign-on accounts"),
  displayName: zSingleLine({ min: 1, max: 100 }).optional(),
  password: ZPassword.optional().describe("12+ characters; absent: the user signs in only through SSO"),
  bindings: z
    .array(ZRoleBindingInput)
    .max(50)
    .default([])
    .describe("roles to grant at once; each needs the same rights as a grant"),
});
export type UserCreateInput = z.input<typeof ZUserCreateInput>;

/** Users are addressed by their login name (unique, and what people type). */
export const ZUserRef = z.object({ name: ZUserName });
export type UserRef = z.infer<typeof ZUserRef>;

export const ZUserPasswordResetInput = z.object({
  name: ZUserName,
  password: ZPassword.optional().describe("the new password; absent: one is generated and returned once"),
});
export type UserPasswordResetInput = z.infer<typeof ZUserPasswordResetInput>;

export const ZUserPasswordReset = z.object({
  name: ZUserName,
  generatedPassword: z
    .string()
    .nullable()
    .describe("set only when the server generated the password: shown once, never again"),
});
export type UserPasswordReset = z.infer<typeof ZUserPasswordReset>;

/** Grant or revoke one role of one user in one namespace (`*`: every namespace). */
export const ZRoleGrantInput = z.object({
  name: ZUserName,
  role: ZRole,
  namespace: ZGrantScope.default(ALL_NAMESPACES).describe("a namespace, or * for every namespace"),
});
export type RoleGrantInput = z.input<typeof ZRoleGrantInput>;

export const ZRoleGrantResult = z.object({
  name: ZUserName,
  bindings: z.array(ZRoleBinding).describe("the user's bindings after the change"),
  changed: z.boolean().describe("false when the user already had (or already lacked) the binding"),
});
export type RoleGrantResult = z.infer<typeof ZRoleGrantResult>;

/** Who the caller is and what they may do, right now, with the credentials of this call. */
export const ZMe = z.object({
  id: z.string().nullable(),
  name: z.string(),
  displayName: z.string().nullable(),
  email: z.string().nullable(),
  kind: z.enum(["user", "token", "system"]).describe("token: this call carries an API token"),
  via: z.enum(["console", "api", "cli", "system"]),
  token: z
    .object({ id: z.string(), name: z.string(), role: ZRole.nullable(), namespace: z.string().nullable() })
    .nullable()
    .describe("the API token of this call, if any"),
  bindings: z.array(ZRoleBinding).describe("the user's own role bindings"),
  effective: z
    .array(ZRoleBinding)
    .describe("the rights in force for this call (a token narrows the user's), highest role per namespace"),
});
export type Me = z.infer<typeof ZMe>;

/**
 * Signing in with a password to get an API token for yourself: how a new user gets a first token without the
 * console (`trellis token create --user NAME --password-stdin`). The token carries at most the user's rights.
 */
export const ZTokenSignInInput = z.object({
  user: ZUserName.describe("your user name"),
  password: z.string().min(1).max(256),
  name: zSingleLine({ min: 1, max: 100 }).default("cli").describe("what the token is for, shown in lists"),
  role: ZRole.optional().describe("at most this role (never more than your own)"),
  namespace: ZNamespace.optional().describe("only this namespace"),
  expiresIn: ZLifetime.optional().describe("lifetime such as 24h or 90d; absent: until revoked"),
});
export type TokenSignInInput = z.input<typeof ZTokenSignInInput>;
