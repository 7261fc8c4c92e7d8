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

// --- field issues ------------------------------------------------------------------------------------------
//
// Every problem with one field, wherever it is found (a service's input, a resource's schema or its semantic
// checks, a change's YAML, a compiled proxy config), is a FieldIssue. It says where twice: `at`, as data, for
// programs (the console puts the issue beside its field with it), and `path`, as text, for people (the CLI, logs,
// messages). `path` is always `formatIssuePath(at, …)`: nothing parses it back.

/** One step of a path: an object or record key, or an array index. */
export const ZPathSegment = z.union([z.string(), z.number().int().nonnegative()]);
export type PathSegment = z.infer<typeof ZPathSegment>;
export type IssuePath = PathSegment[];

/** Where an issue is, as data: the document of a change it is in, and the keys and indexes down to the field. */
export const ZIssueAt = z.object({
  doc: z
    .number()
    .int()
    .nonnegative()
    .optional()
    .describe(
      "the change's document (YAML document, or operation) the issue is in, counted from 0; absent: `path` starts at the request (or the resource) itself",
    ),
  path: z
    .array(ZPathSegment)
    .describe('keys and array indexes, e.g. ["spec", "rules", 0, "backends", 1, "weight"]; [] for the whole'),
});
export type IssueAt = z.infer<typeof ZIssueAt>;

/** One problem with one field. */
export const ZFieldIssue = z.object({
  path: z
    .string()
    .describe(
      "where, for people: `spec.rules[0].backends[1].weight`, after its document if any (`[1].spec.service`, `operations[0].resource.spec.service`); programs read `at`",
    ),
  at: ZIssueAt,
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
      .describe(
        'one entry per invalid field: `at` locates it (`{ doc: 0, path: ["spec", "rules", 0] }`), `path` names it (`[0].spec.rules[0]`)',
      ),
  })
  .meta({ id: "Problem" });
export type Problem = z.infer<typeof ZProblem>;

/** Renders a path (`["spec","rules",0,"weight"]`) the way users write it: `spec.rules[0].weight`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/**
 * How the text of a path names the document an issue is in: the path to that document from where the
 * reader started. A YAML file's documents are `[1]` (the default), a request's operations are
 * `operations[1]`, the resource of an operation `operations[1].resource`.
 */
export type DocumentPath = (doc: number) => readonly PropertyKey[];
export const YAML_DOCUMENT: DocumentPath = (doc) => [doc];

/** The one way an issue's `path` text is made from its `at`. */
export function formatIssuePath(at: IssueAt, documentPath: DocumentPath = YAML_DOCUMENT): string {
  return formatPath(at.doc === undefined ? at.path : [...documentPath(at.doc), ...at.path]);
}

/** An issue at `at` (its `path` text follows), e.g. `fieldIssue({ path: ["spec", "service"] }, "is required")`. */
export function fieldIssue(at: IssueAt, message: string, documentPath?: DocumentPath): FieldIssue {
  return { path: formatIssuePath(at, documentPath), at, message };
}

/**
 * A schema issue as a FieldIssue: one from zod, or from any Standard Schema validator (tRPC's input
 * parsing hands those on), whose path segments may be `{ key }` objects. Symbol keys, which no JSON field
 * has, become their description.
 */
export function fromZodIssue(issue: {
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
  readonly message: string;
}): FieldIssue {
  const path = (issue.path ?? []).map((seg): PathSegment => {
    const k = typeof seg === "object" ? seg.key : seg;
    return typeof k === "number" ? k : typeof k === "symbol" ? (k.description ?? "") : k;
  });
  return fieldIssue({ path }, issue.message);
}

/** Every issue of a zod (or Standard Schema) error, in order. */
export function zodIssues(error: {
  readonly issues: readonly Parameters<typeof fromZodIssue>[0][];
}): FieldIssue[] {
  return error.issues.map(fromZodIssue);
}

/**
 * An issue found in one resource, placed in document `doc` of a change: `at.path` stays relative to the
 * resource, `at.doc` says which one, and the text gains the document's name (`[2].spec.service`).
 */
export function inDocument(issue: FieldIssue, doc: number, documentPath?: DocumentPath): FieldIssue {
  return fieldIssue({ doc, path: issue.at.path }, issue.message, documentPath);
}

/** Issues on one line, for messages and logs: `services[0].name: must be …; version: is required`. */
export function formatIssues(issues: readonly FieldIssue[]): string {
  return issues.map((i) => (i.path === "" ? i.message : `${i.path}: ${i.message}`)).join("; ");
}
