import { z } from "zod";
import { ZNamespace, ZNewNamespace, ZNewServiceName, ZUserName } from "./names.js";
import { ZRole } from "./roles.js";
import { zSingleLine } from "./text.js";

/** The longest lifetime a token may be given: a year. Longer-lived access is a token without expiry, revoked. */
export const MAX_LIFETIME_DAYS = 365;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Lifetimes as people write them: `30m`, `24h`, `7d`, as milliseconds. At least a minute and at most
 * MAX_LIFETIME_DAYS: `0m` used to become 0, which the API took for "no expiry", so a token meant to die at
 * once lived for ever. Leave the field out for a token without expiry.
 */
export const ZLifetime = z
  .string()
  .regex(/^\d{1,6}(m|h|d)$/, "must be a number followed by m, h or d (e.g. 24h)")
  .transform((s) => Number(s.slice(0, -1)) * UNIT_MS[s.slice(-1) as keyof typeof UNIT_MS])
  .refine((ms) => ms > 0, "must be longer than zero (leave it out for a token that does not expire)")
  .refine(
    (ms) => ms <= MAX_LIFETIME_DAYS * UNIT_MS.d,
    `must be at most ${MAX_LIFETIME_DAYS}d (leave it out for a token that does not expire)`,
  );

export const ZJoinTokenCreateInput = z.object({
  namespace: ZNewNamespace.describe("proxies joining with this token belong to this namespace"),
  service: ZNewServiceName.optional().describe("only proxies of this service may join with it"),
  name: zSingleLine({ max: 100 }).optional().describe("what it is for, shown in lists"),
  expiresIn: ZLifetime.optional().describe("lifetime such as 24h or 7d; absent: until revoked"),
});
export type JoinTokenCreateInput = z.input<typeof ZJoinTokenCreateInput>;

export const ZJoinTokenCreated = z.object({
  id: z.string(),
  token: z.string().describe("tj1.<CA fingerprint>.<secret>: shown once, never again"),
  namespace: z.string(),
  service: z.string().nullable(),
  expiresAt: z.iso.datetime().nullable(),
});
export type JoinTokenCreated = z.infer<typeof ZJoinTokenCreated>;

export const ZJoinTokenSummary = z.object({
  id: z.string(),
  name: z.string().nullable(),
  prefix: z.string(),
  namespace: z.string(),
  service: z.string().nullable(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso.datetime().nullable(),
  /** Connected proxies its revocation evicted (null: not revoked, or revoked before evictions existed). */
  evictedProxies: z.number().int().nullable(),
});
export type JoinTokenSummary = z.infer<typeof ZJoinTokenSummary>;

export const ZApiTokenCreateInput = z.object({
  name: zSingleLine({ min: 1, max: 100 }).describe("what it is for, shown in lists"),
  role: ZRole.optional().describe("at most this role (never more than your own)"),
  namespace: ZNamespace.optional().describe("only this namespace"),
  expiresIn: ZLifetime.optional().describe("lifetime such as 24h or 90d; absent: until revoked"),
});
export type ApiTokenCreateInput = z.input<typeof ZApiTokenCreateInput>;

export const ZApiTokenCreated = z.object({
  id: z.string(),
  name: z.string(),
  token: z.string().describe("shown once, never again"),
  role: ZRole.nullable(),
  namespace: z.string().nullable(),
});
export type ApiTokenCreated = z.infer<typeof ZApiTokenCreated>;

export const ZApiTokenSummary = z.object({
  id: z.string(),
  name: z.string(),
  /** The token's owner (their user name). */
  user: z.string(),
  prefix: z.string(),
  role: ZRole.nullable(),
  namespace: z.string().nullable(),
  createdAt: z.iso.datetime(),
  lastUsedAt: z.iso.datetime().nullable(),
  expiresAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
});
export type ApiTokenSummary = z.infer<typeof ZApiTokenSummary>;

/** Whose tokens to list: yours by default; another user's for admins of every namespace. */
export const ZApiTokenListInput = z.object({
  user: ZUserName.optional().describe("list this user's tokens (admins of *): to revoke them after a reset"),
});
export type ApiTokenListInput = z.infer<typeof ZApiTokenListInput>;

/** A row's id as the API hands them out (cuid): letters, digits, '-' and '_' only, so nothing else reaches a query. */
export const ZId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, "must be an id (letters, digits, '-' and '_')");

export const ZIdInput = z.object({ id: ZId });
