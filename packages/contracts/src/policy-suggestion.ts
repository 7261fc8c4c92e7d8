import { z } from "zod";
import { ZNamespace, ZServiceName } from "./names.js";
import { ZAccessPolicyResource } from "./resources/access-policy/schema.js";
import { ZChangeOperationInput } from "./changes.js";

/**
 * "Restrict callers to what was observed": an AccessPolicy that allows exactly the callers the telemetry saw
 * calling a service over a window, with the evidence it was drawn from. `trellis policy suggest`, the
 * console's service page and the REST API share these shapes; `@trellis/services` policy-suggestion.ts fills
 * them.
 *
 * Callers are known by identity (namespace and service, from the mTLS certificate the callee's sidecar saw).
 * With `methods` and/or `paths`, each caller's allow rule also lists the methods and path prefixes (first
 * segment: `/api/*`) it was seen with, from the callee's access observations (decision 006); a caller whose
 * requests in the window are not all observed (older proxies, TCP, before observations were recorded) is
 * allowed by identity alone, with a warning. `granularity` says what the suggestion narrowed by.
 *
 * When to edit this file: when the suggestion learns a new option or its evidence a field.
 */

const WINDOW_RE = /^(\d{1,5})(m|h|d)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export const SUGGESTION_WINDOW_MIN_MS = 5 * 60_000;
export const SUGGESTION_WINDOW_MAX_MS = 30 * 86_400_000;

/** Milliseconds in a window such as `30m`, `24h` or `7d`; undefined for anything else. */
export function parseSuggestionWindow(text: string): number | undefined {
  const m = WINDOW_RE.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : undefined;
}

/** A window from 5 minutes to 30 days, written `30m`, `24h` or `7d`. The pattern shows in the OpenAPI document. */
export const ZSuggestionWindow = z
  .string()
  .regex(WINDOW_RE, "must be minutes, hours or days: 30m, 24h, 7d")
  .superRefine((s, ctx) => {
    const ms = parseSuggestionWindow(s);
    if (ms === undefined) return; // the pattern said why
    if (ms < SUGGESTION_WINDOW_MIN_MS) ctx.addIssue({ code: "custom", message: "must be at least 5m" });
    else if (ms > SUGGESTION_WINDOW_MAX_MS) ctx.addIssue({ code: "custom", message: "must be at most 30d" });
  });

/**
 * A flag that arrives as a JSON boolean (tRPC) or as `true`/`false` in a query string (REST GET). Not
 * z.coerce.boolean(): that reads the string "false" as true.
 */
const ZQueryFlag = z
  .preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean())
  .default(false);

export const ZPolicySuggestInput = z.object({
  namespace: ZNamespace.describe("namespace of the service to protect"),
  service: ZServiceName.describe("the service to protect"),
  window: ZSuggestionWindow.default("24h").describe("how far back to look for callers: 5m … 30d"),
  methods: ZQueryFlag.describe("also allow each caller only the methods it was seen using"),
  paths: ZQueryFlag.describe(
    "also allow each caller only the path prefixes (first segment, /api/*) it was seen calling",
  ),
});
export type PolicySuggestInput = z.input<typeof ZPolicySuggestInput>;

/** Why an observed caller is, or is not, in the suggested allow list. */
export const ZSuggestedCallerStatus = z.enum([
  /** Allowed by identity in the suggestion. */
  "allowed",
  /** Refused by the AccessPolicies in force now: the suggestion never lets in what is refused today. */
  "denied-now",
  /**
   * Limited by methods or paths in another AccessPolicy now: allowing it by identity would widen its access,
   * so those rules keep deciding for it.
   */
  "limited-elsewhere",
  /** No mesh identity (plaintext, under permissive mTLS): an identity allow list cannot admit it. */
  "no-identity",
  /**
   * Only the caller's own sidecar reported these calls; the service's sidecars, which check certificates,
   * never saw them. A proxy's word about itself is not evidence, so it is left out.
   */
  "unconfirmed",
]);
export type SuggestedCallerStatus = z.infer<typeof ZSuggestedCallerStatus>;

export const ZSuggestedCaller = z.object({
  /** `unknown` / `unknown` for callers without a mesh identity. */
  namespace: z.string(),
  service: z.string(),
  requests: z
    .number()
    .int()
    .nonnegative()
    .describe("requests (or TCP connections) in the window, as the service's sidecars counted them"),
  mtlsShare: z.number().min(0).max(1).describe("share of them that came over mutual TLS"),
  lastSeen: z.iso.datetime().describe("start of the last minute it was seen in"),
  status: ZSuggestedCallerStatus,
  /**
   * Asked for methods or paths: what the callee's sidecars observed it asking, and whether that covers all its
   * requests in the window (else it is allowed by identity alone).
   */
  observed: z
    .object({
      /** Methods seen, `OTHER` for any outside the standard set. */
      methods: z.array(z.string()),
      /** Path prefixes seen (`/`, `/health`, `/api/*`; `/*` where the proxy folded too many). */
      paths: z.array(z.string()),
      /** Requests the observations account for (at least `requests` when complete). */
      requests: z.number().int().nonnegative(),
      complete: z.boolean(),
    })
    .optional(),
});
export type SuggestedCaller = z.infer<typeof ZSuggestedCaller>;

export const ZPolicySuggestion = z.object({
  namespace: ZNamespace,
  service: ZServiceName,
  window: z.object({ from: z.iso.datetime(), until: z.iso.datetime(), length: z.string() }),
  granularity: z
    .enum(["identity", "methods", "paths", "methods-and-paths"])
    .describe(
      "what allowed callers are narrowed by besides identity: nothing, the methods and/or the path prefixes they were seen with",
    ),
  /**
   * The proposed AccessPolicy (create, or update of the one a previous suggestion created, keeping its deny
   * rules); null when no caller with an identity was seen, since an empty allow list would refuse everyone.
   */
  resource: ZAccessPolicyResource.nullable(),
  /** The operation that proposes it, ready for `change.create` (an update carries the revision seen). */
  operation: ZChangeOperationInput.nullable(),
  /** The current spec of the resource the operation updates; null for a create. */
  current: z.record(z.string(), z.unknown()).nullable(),
  /** Title and description for the change request: what was observed and over which window. */
  title: z.string(),
  description: z.string(),
  /** Every caller seen, sorted by namespace and service, with whether (and why not) it is allowed. */
  callers: z.array(ZSuggestedCaller),
  /** What the suggestion cannot do: callers without identity, other AccessPolicies that allow more, … */
  warnings: z.array(z.string()),
});
export type PolicySuggestion = z.infer<typeof ZPolicySuggestion>;
