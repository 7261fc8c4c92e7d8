import { z } from "zod";
import { ZNamespace, ZUserName } from "./names.js";
import { zSingleLine } from "./text.js";

/**
 * One entry of the audit log, as the API returns it. The log is append-only: there is no API to change or
 * delete an entry (and the database refuses it too). `id` is a decimal string because it is a 64-bit counter.
 */
export const ZAuditEvent = z.object({
  id: z.string(),
  at: z.iso.datetime(),
  actorKind: z.enum(["user", "token", "proxy", "system"]),
  actorId: z.string().nullable(),
  actorName: z.string(),
  via: z.enum(["console", "api", "cli", "system"]),
  action: z.string().describe("what happened, e.g. user.create, role.grant, apiToken.revoke"),
  targetKind: z.string().nullable(),
  targetId: z.string().nullable(),
  namespace: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
});
export type AuditEvent = z.infer<typeof ZAuditEvent>;

export const AUDIT_PAGE_MAX = 200;

export const ZAuditListInput = z.object({
  actor: ZUserName.optional().describe("only events by this user (their name)"),
  action: z
    .string()
    .regex(/^[a-zA-Z][\w.]*$/, "letters, digits, '_' and '.'")
    .max(100)
    .optional()
    .describe("an action (role.grant) or a family of them (role: role.grant, role.revoke)"),
  targetKind: zSingleLine({ max: 64 }).optional().describe("e.g. User, ApiToken, NamespaceSetting"),
  targetId: zSingleLine({ max: 200 }).optional(),
  namespace: ZNamespace.optional().describe("only events in this namespace"),
  since: z.iso.datetime({ offset: true }).optional().describe("from this time (inclusive)"),
  until: z.iso.datetime({ offset: true }).optional().describe("before this time (exclusive)"),
  limit: z.number().int().min(1).max(AUDIT_PAGE_MAX).default(50),
  cursor: z
    .string()
    .regex(/^\d{1,19}$/, "a cursor from a previous page's nextCursor")
    .optional()
    .describe("nextCursor of the previous page: continues with older events"),
});
export type AuditListInput = z.input<typeof ZAuditListInput>;

export const ZAuditPage = z.object({
  items: z.array(ZAuditEvent).describe("newest first"),
  nextCursor: z.string().nullable().describe("pass as cursor for older events; null at the end"),
});
export type AuditPage = z.infer<typeof ZAuditPage>;
