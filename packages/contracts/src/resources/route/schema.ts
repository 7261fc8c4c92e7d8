import { z } from "zod";
import { ZDnsLabel, ZServiceName, ZVersion } from "../../names.js";
import { ZEditableHeaderName, ZHeaderValue } from "../../http-fields.js";
import {
  RESOURCE_API_VERSION,
  ZHeaderMatchSpec,
  ZHttpMethod,
  ZKeyMatchSpec,
  ZObjectMeta,
  ZStringMatchSpec,
  zDuration,
} from "../common.js";
import { ZRateLimitSpec } from "../rate-limit.js";

/**
 * Route: how calls to one service are routed. Rules are tried in order and the first whose `match` holds
 * decides; requests no rule matches go to every version of the service (as with no Route at all), with the
 * mesh's default timeout and retries.
 *
 * When to edit this file: when routing learns a feature. Add the field with a doc comment naming its default,
 * a check in `validate.ts` if it interacts with other fields, and its translation in the control plane's
 * compiler (`compiler/route.ts`).
 */

/** When a rule applies. All given conditions must hold; an empty or absent match matches every request. */
export const ZRouteMatchSpec = z.strictObject({
  /** Request path, without the query string. */
  path: ZStringMatchSpec.optional(),
  /** Methods the request may have; absent means any. */
  methods: z.array(ZHttpMethod).min(1, "give at least one method, or leave methods out").optional(),
  /** Header conditions; all must hold. */
  headers: z.array(ZHeaderMatchSpec).optional(),
  /** Query parameter conditions; all must hold. */
  query: z.array(ZKeyMatchSpec).optional(),
});
export type RouteMatchSpec = z.infer<typeof ZRouteMatchSpec>;

/** One weighted destination of a rule: the workloads of one version of the service. */
export const ZRouteBackendSpec = z.strictObject({
  /** Version label of the workloads (`v1`, `canary`). */
  version: ZVersion,
  /**
   * Percent of the rule's requests, 0–100; a rule's weights sum to 100. May be left out when the rule has one
   * backend, which then gets 100.
   */
  weight: z.number().int("must be a whole number").min(0).max(100).optional(),
});
export type RouteBackendSpec = z.infer<typeof ZRouteBackendSpec>;

/** Failures a retry may follow. `5xx` also covers resets and connect failures. */
export const RETRY_ON = [
  "5xx",
  "gateway-error",
  "connect-failure",
  "reset",
  "retriable-status-codes",
] as const;

/**
 * Retries. Only idempotent requests are retried unless `retryNonIdempotent` says otherwise. A request body is
 * replayed when it is at most 64 KiB (the proxy keeps a copy while the first try sends it); a larger one is sent
 * once and its failure returned as it is. A retry budget (20% of requests in flight, at least 3) keeps retries
 * from multiplying an outage.
 */
export const ZRetrySpec = z.strictObject({
  /** Retries after the first try: `attempts: 2` means up to 3 tries. 0 turns retries off. */
  attempts: z.number().int("must be a whole number").min(0).max(10),
  /** Time limit of each try until response headers. Default: none, only the rule's `timeout` applies. */
  perTryTimeout: zDuration({ min: 1 }).optional(),
  /** Which failures are retried. Default `[connect-failure, reset, 5xx]`. */
  retryOn: z.array(z.enum(RETRY_ON)).min(1, "give at least one condition, or leave retryOn out").optional(),
  /** Status codes retried when `retryOn` includes `retriable-status-codes`. */
  retriableStatusCodes: z.array(z.number().int().min(100).max(599)).optional(),
  /** Wait between tries: doubles from `base` up to `max`, with full jitter. Default 25ms / 250ms. */
  backoff: z
    .strictObject({
      /** First wait. */
      base: zDuration(),
      /** Longest wait. */
      max: zDuration(),
    })
    .optional(),
  /** Also retry POST, PATCH and other non-idempotent methods. Default false. */
  retryNonIdempotent: z.boolean().optional(),
});
export type RetrySpec = z.infer<typeof ZRetrySpec>;

/** Fault injection, to test how callers cope. Percentages are of the rule's requests. */
export const ZFaultSpec = z
  .strictObject({
    /** Hold some requests before forwarding them. */
    delay: z
      .strictObject({
        /** Share of requests delayed, 0–100. */
        percent: z.number().min(0).max(100),
        /** How long each is held. */
        duration: zDuration({ min: 1 }),
      })
      .optional(),
    /** Answer some requests with an error status without forwarding them. */
    abort: z
      .strictObject({
        /** Share of requests aborted, 0–100. */
        percent: z.number().min(0).max(100),
        /** Status returned, 200–599. */
        status: z.number().int().min(200).max(599),
      })
      .optional(),
  })
  .refine((f) => f.delay !== undefined || f.abort !== undefined, "give delay, abort or both");
export type FaultSpec = z.infer<typeof ZFaultSpec>;

/**
 * Header edits, applied once per request (not per try). Names are case-insensitive; values are header values
 * (no CR, LF or other controls, no surrounding whitespace); framing headers (content-length, connection, …)
 * belong to the proxy and cannot be edited.
 */
export const ZHeaderEditsSpec = z.strictObject({
  /** Headers set, replacing any present. */
  set: z.record(ZEditableHeaderName, ZHeaderValue).optional(),
  /** Headers appended to any present. */
  add: z.record(ZEditableHeaderName, ZHeaderValue).optional(),
  /** Headers removed. */
  remove: z.array(ZEditableHeaderName).optional(),
});
export type HeaderEditsSpec = z.infer<typeof ZHeaderEditsSpec>;

/** One rule: a match and what happens to the requests it matches. */
export const ZRouteRuleSpec = z.strictObject({
  /** Name shown in telemetry and config dumps. Default `rule-<index>`. */
  name: ZDnsLabel.optional(),
  /** When the rule applies. Absent: every request. */
  match: ZRouteMatchSpec.optional(),
  /** Weighted versions (canary split). Absent: every version, each workload an equal share. */
  backends: z.array(ZRouteBackendSpec).min(1, "give at least one backend, or leave backends out").optional(),
  /** Time limit until response headers, retries included; `0s` means none. Default: the mesh's, else 15s. */
  timeout: zDuration().optional(),
  /** Retries. Default: the mesh's default retries, else none. */
  retries: ZRetrySpec.optional(),
  /** Fault injection. */
  fault: ZFaultSpec.optional(),
  /** Edits to the request before it is forwarded. */
  requestHeaders: ZHeaderEditsSpec.optional(),
  /** Edits to the response before it reaches the caller. */
  responseHeaders: ZHeaderEditsSpec.optional(),
  /** Rate limit for the requests this rule matches, enforced by each calling proxy (so per calling workload). */
  rateLimit: ZRateLimitSpec.optional(),
});
export type RouteRuleSpec = z.infer<typeof ZRouteRuleSpec>;

export const ZRouteSpec = z.strictObject({
  /** The service whose callers this Route steers, in the Route's namespace. */
  service: ZServiceName,
  /** Rules, first match wins. */
  rules: z.array(ZRouteRuleSpec).min(1, "give at least one rule").max(200),
});
export type RouteSpec = z.infer<typeof ZRouteSpec>;

export const ZRouteResource = z.strictObject({
  /** Always `trellis.dev/v1alpha1`. */
  apiVersion: z.literal(RESOURCE_API_VERSION),
  /** Always `Route`. */
  kind: z.literal("Route"),
  /** Name and namespace. */
  metadata: ZObjectMeta,
  /** What the Route does. */
  spec: ZRouteSpec,
});
export type RouteResource = z.infer<typeof ZRouteResource>;

/** Whether a match holds for every request. */
export function matchesEverything(m: RouteMatchSpec | undefined): boolean {
  return (
    m === undefined ||
    (m.path === undefined &&
      m.methods === undefined &&
      (m.headers ?? []).length === 0 &&
      (m.query ?? []).length === 0)
  );
}

/** A rule's backends with their weights filled in (a lone backend without weight gets 100). */
export function effectiveBackends(rule: RouteRuleSpec): { version: string; weight: number }[] | undefined {
  if (rule.backends === undefined) return undefined;
  const lone = rule.backends.length === 1;
  return rule.backends.map((b) => ({ version: b.version, weight: b.weight ?? (lone ? 100 : 0) }));
}
