import { z } from "zod";
import { ZNewNamespace, ZDnsLabel } from "../names.js";
import { fieldIssue, type FieldIssue, type IssuePath } from "../errors.js";
import { ZHeaderName, ZHeaderValue } from "../http-fields.js";
import { RESOURCE_KINDS } from "./kinds.js";

/**
 * Pieces every resource kind shares: the Kubernetes-like envelope, durations as users write them, string
 * matches, and the issue lists the semantic validators return.
 *
 * Resource schemas carry no zod defaults on purpose: what is stored is exactly what the user wrote, so a
 * parsed spec can be stored, shown in a diff and parsed again unchanged. Defaults are applied by the compiler
 * and named in each field's doc comment.
 */

export { RESOURCE_API_VERSION, RESOURCE_KINDS, type ResourceKind } from "./kinds.js";

export const ZResourceKind = z.enum(RESOURCE_KINDS);

/** Who a resource is: name and namespace, both DNS labels. */
export const ZObjectMeta = z.strictObject({
  /** Name, unique per kind within the namespace. */
  name: ZDnsLabel,
  /** Namespace the resource lives in; the service it targets is in the same namespace. */
  namespace: ZNewNamespace,
});
export type ObjectMeta = z.infer<typeof ZObjectMeta>;

// --- durations -------------------------------------------------------------------------------------------

const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const DURATION_PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

/**
 * Milliseconds in a duration as users write it: `250ms`, `2s`, `1.5s`, `1m`, `1h`, `1m30s`. Returns
 * `undefined` for anything else. Fractions of a millisecond are rounded.
 */
export function parseDuration(text: string): number | undefined {
  if (!DURATION_RE.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(DURATION_PART_RE)) ms += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return Math.round(ms);
}

/** Milliseconds of a duration that already passed its schema. Throws on anything else: a caller bug. */
export function durationMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new TypeError(`not a duration: ${JSON.stringify(text)}`);
  return ms;
}

/**
 * A duration string between `min` and `max` milliseconds (inclusive). The proxy takes at most one hour for
 * any duration, hence the default upper bound.
 */
export function zDuration(bounds: { min?: number; max?: number } = {}) {
  const min = bounds.min ?? 0;
  const max = bounds.max ?? 3_600_000;
  return z.string().superRefine((s, ctx) => {
    const ms = parseDuration(s);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: 'must be a duration such as "250ms", "2s", "1m" or "1m30s"' });
    } else if (ms < min) {
      ctx.addIssue({ code: "custom", message: `must be at least ${formatDuration(min)}` });
    } else if (ms > max) {
      ctx.addIssue({ code: "custom", message: `must be at most ${formatDuration(max)}` });
    }
  });
}

/** `1500` → `1.5s`, for messages. */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1_000) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

// --- matching --------------------------------------------------------------------------------------------

/** Whether a regular expression compiles, and why not. */
export function regexError(source: string): string | null {
  try {
    new RegExp(source);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

const STRING_MATCH_KEYS = ["exact", "prefix", "regex"] as const;

/** Issues for "exactly one of exact / prefix / regex, and the regex compiles". */
function checkStringMatch(
  m: { exact?: string; prefix?: string; regex?: string },
  ctx: z.RefinementCtx,
  optional: boolean,
) {
  const given = STRING_MATCH_KEYS.filter((k) => m[k] !== undefined);
  if (given.length > 1)
    ctx.addIssue({ code: "custom", path: [given[1]!], message: `give only one of exact, prefix or regex` });
  if (given.length === 0 && !optional)
    ctx.addIssue({ code: "custom", path: [], message: "give one of exact, prefix or regex" });
  if (m.regex !== undefined) {
    const err = regexError(m.regex);
    if (err !== null)
      ctx.addIssue({
        code: "custom",
        path: ["regex"],
        message: `must be a valid regular expression (${err})`,
      });
  }
}

/** Matches a string: exactly one of `exact`, `prefix`, `regex`. */
export const ZStringMatchSpec = z
  .strictObject({
    /** The whole value must equal this. */
    exact: z.string().optional(),
    /** The value must start with this. */
    prefix: z.string().optional(),
    /** The value must match this JavaScript regular expression; it is not anchored unless you anchor it (`^…$`). */
    regex: z.string().optional(),
  })
  .superRefine((m, ctx) => checkStringMatch(m, ctx, false));
export type StringMatchSpec = z.infer<typeof ZStringMatchSpec>;

/**
 * Matches one header or query parameter by name. With none of `exact`, `prefix`, `regex` it only has to be
 * present.
 */
export const ZKeyMatchSpec = z
  .strictObject({
    /** Header name (case-insensitive) or query parameter name (case-sensitive). */
    name: z.string().min(1, "must not be empty"),
    /** The value must equal this. */
    exact: z.string().optional(),
    /** The value must start with this. */
    prefix: z.string().optional(),
    /** The value must match this regular expression (not anchored unless you anchor it). */
    regex: z.string().optional(),
    /** Invert the condition: the header must be absent or not match. Default false. */
    invert: z.boolean().optional(),
  })
  .superRefine((m, ctx) => checkStringMatch(m, ctx, true));
export type KeyMatchSpec = z.infer<typeof ZKeyMatchSpec>;

/**
 * Matches one header by name: as ZKeyMatchSpec, with a valid header name, and `exact` / `prefix` values a
 * header can have (a value with CR or LF could never match: it would hide a mistake).
 */
export const ZHeaderMatchSpec = z
  .strictObject({
    /** Header name, case-insensitive. */
    name: ZHeaderName,
    /** The value must equal this. */
    exact: ZHeaderValue.optional(),
    /** The value must start with this. */
    prefix: z
      .string()
      .regex(
        /^[\t\x20-\x7e\x80-\xff]*$/,
        "must be a valid header value: no control characters such as CR or LF",
      )
      .optional(),
    /** The value must match this regular expression (not anchored unless you anchor it). */
    regex: z.string().optional(),
    /** Invert the condition: the header must be absent or not match. Default false. */
    invert: z.boolean().optional(),
  })
  .superRefine((m, ctx) => checkStringMatch(m, ctx, true));
export type HeaderMatchSpec = z.infer<typeof ZHeaderMatchSpec>;

/** An HTTP method, upper case. */
export const ZHttpMethod = z.string().regex(/^[A-Z]+$/, "must be an upper-case HTTP method such as GET");

/** A service in the mesh, named by namespace and name. */
export interface ServiceRef {
  namespace: string;
  service: string;
}

export function serviceKey(ref: ServiceRef): string {
  return `${ref.namespace}/${ref.service}`;
}

// --- semantic validation ---------------------------------------------------------------------------------

/** Errors block a change; warnings are shown to the author and the approvers. */
export interface ResourceValidation {
  errors: FieldIssue[];
  warnings: FieldIssue[];
}

/** Collects a resource's issues, each at its path in the resource (`["spec", "rules", 0, "match"]`). */
export class IssueList implements ResourceValidation {
  readonly errors: FieldIssue[] = [];
  readonly warnings: FieldIssue[] = [];
  error(path: IssuePath, message: string): void {
    this.errors.push(fieldIssue({ path }, message));
  }
  warn(path: IssuePath, message: string): void {
    this.warnings.push(fieldIssue({ path }, message));
  }
  result(): ResourceValidation {
    return { errors: this.errors, warnings: this.warnings };
  }
}
