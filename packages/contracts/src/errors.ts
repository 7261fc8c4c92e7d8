import { z } from "zod";

/**
 * Stable error codes. Clients (the console, the CLI, scripts) branch on these, never on messages, so a code
 * is never renamed or reused. Add new ones at the end of their group.
 */
export const APP_ERROR_CODES = [
  // authentication and authorization
  "AUTH_REQUIRED",
  "AUTH_INVALID_CREDENTIALS",
  "AUTH_RATE_LIMITED",
  "AUTH_TOKEN_INVALID",
  "FORBIDDEN",
  // input
  "VALIDATION_FAILED",
  "NOT_FOUND",
  "CONFLICT",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "METHOD_NOT_ALLOWED",
  // change requests
  "CHANGE_SELF_APPROVAL",
  "CHANGE_STALE",
  "CHANGE_NOT_OPEN",
  "CHANGE_INVALID",
  "CHANGE_NOT_APPLIED",
  // users and roles
  "USER_LAST_ADMIN",
  "ROLE_ESCALATION",
  // infrastructure
  "DATABASE_UNAVAILABLE",
  "INTERNAL",
] as const;
export const ZAppErrorCode = z.enum(APP_ERROR_CODES);
export type AppErrorCode = z.infer<typeof ZAppErrorCode>;

/** HTTP status for each code. `satisfies` makes a new code without a status a compile error. */
export const APP_ERROR_HTTP_STATUS = {
  AUTH_REQUIRED: 401,
  AUTH_INVALID_CREDENTIALS: 401,
  AUTH_RATE_LIMITED: 429,
  AUTH_TOKEN_INVALID: 401,
  FORBIDDEN: 403,
  VALIDATION_FAILED: 422,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  METHOD_NOT_ALLOWED: 405,
  CHANGE_SELF_APPROVAL: 403,
  CHANGE_STALE: 409,
  CHANGE_NOT_OPEN: 409,
  CHANGE_INVALID: 422,
  CHANGE_NOT_APPLIED: 409,
  USER_LAST_ADMIN: 409,
  ROLE_ESCALATION: 403,
  DATABASE_UNAVAILABLE: 503,
  INTERNAL: 500,
} as const satisfies Record<AppErrorCode, number>;

/** One problem with one field, addressed by a path such as `spec.rules[0].backends[1].weight`. */
export const ZFieldIssue = z.object({
  path: z.string(),
  message: z.string(),
});
export type FieldIssue = z.infer<typeof ZFieldIssue>;

/**
 * RFC 9457 problem document, as every REST error (and every refusal at the tRPC edge) is returned, with the
 * media type `application/problem+json`. The OpenAPI document describes every error response with this very
 * schema, so a generated client reads the fields the server sends.
 */
export const ZProblem = z
  .object({
    type: z.string().describe('always "about:blank": `code` says what went wrong'),
    title: z.string().describe("a short, human-readable summary"),
    status: z.number().int().describe("the HTTP status, repeated"),
    code: ZAppErrorCode.describe("stable; branch on this, never on the text"),
    detail: z.string().optional().describe("what went wrong with this request"),
    issues: z
      .array(ZFieldIssue)
      .optional()
      .describe("one entry per invalid field, addressed by path (`spec.rules[0].backends[1].weight`)"),
  })
  .meta({ id: "Problem" });
export type Problem = z.infer<typeof ZProblem>;

/** Renders zod's issue path (`["spec","rules",0,"weight"]`) the way users write it: `spec.rules[0].weight`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

export function zodIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}
