import { z } from "zod";
import { ZNamespace, ZServiceName } from "../../names.js";
import { RESOURCE_API_VERSION, ZHttpMethod, ZObjectMeta, type ServiceRef } from "../common.js";
import { ACCESS_METHODS, ACCESS_OTHER_METHOD } from "../../mesh-stream.js";

/**
 * AccessPolicy: who may call one service. Callers are known by their mesh identity (the SPIFFE ID in their
 * mTLS certificate), which names their namespace and service.
 *
 * Semantics, over all AccessPolicies that target the same service together:
 * - a request that matches any `deny` rule is refused (403), whatever the allow rules say: deny wins;
 * - if there is at least one `allow` rule, a request must match one of them;
 * - with no `allow` rule at all, everything that is not denied is allowed (a service without AccessPolicies is
 *   open to the whole mesh). To refuse everything, write `deny: [{}]`.
 *
 * Raw TCP services (and the TCP ports of any workload) are judged per connection, by the caller alone, as
 * Istio does for TCP workloads and failing closed: `methods` and `paths` cannot be known on a connection, so an
 * allow rule with either matches no connection, and a deny rule with either applies on its `from` alone (it
 * denies more over TCP, never less). A refused connection is closed right after the mTLS handshake.
 *
 * When to edit this file: when authorization learns a condition. Add it to `ZAccessRuleSpec` with a doc comment,
 * teach `ruleMatchesCaller` whether it depends on the caller, and translate it in `compiler/access-policy.ts`.
 */

/** A set of callers: one service, or every service of a namespace. */
export const ZAccessSourceSpec = z
  .strictObject({
    /** Calling service. Without `namespace`, the service of that name in the policy's namespace. */
    service: ZServiceName.optional(),
    /** Calling namespace. Without `service`, every service in it. */
    namespace: ZNamespace.optional(),
  })
  .refine((s) => s.service !== undefined || s.namespace !== undefined, "give service, namespace or both");
export type AccessSourceSpec = z.infer<typeof ZAccessSourceSpec>;

/** A request path: exact, or a prefix when it ends in `*` (`/admin/*`). */
export const ZAccessPath = z
  .string()
  .regex(/^\/[^*]*\*?$/, "must start with / and may end in * (a prefix); * elsewhere is not allowed");

/** One rule. All given conditions must hold; `{}` matches every request. */
export const ZAccessRuleSpec = z.strictObject({
  /**
   * Callers the rule is about (any of them). Absent: every caller, including callers without a mesh identity
   * (possible only with permissive mTLS).
   */
  from: z.array(ZAccessSourceSpec).min(1, "give at least one caller, or leave from out").optional(),
  /** Methods; absent means any. */
  methods: z.array(ZHttpMethod).min(1, "give at least one method, or leave methods out").optional(),
  /** Paths; absent means any. */
  paths: z.array(ZAccessPath).min(1, "give at least one path, or leave paths out").optional(),
});
export type AccessRuleSpec = z.infer<typeof ZAccessRuleSpec>;

export const ZAccessPolicySpec = z
  .strictObject({
    /** The service being protected, in the policy's namespace. */
    service: ZServiceName,
    /** Requests allowed. When any AccessPolicy of the service has allow rules, only these pass. */
    allow: z.array(ZAccessRuleSpec).min(1, "give at least one rule, or leave allow out").optional(),
    /** Requests refused, even when an allow rule matches them. */
    deny: z.array(ZAccessRuleSpec).min(1, "give at least one rule, or leave deny out").optional(),
  })
  .refine((s) => s.allow !== undefined || s.deny !== undefined, "give allow rules, deny rules or both");
export type AccessPolicySpec = z.infer<typeof ZAccessPolicySpec>;

export const ZAccessPolicyResource = z.strictObject({
  /** Always `trellis.dev/v1alpha1`. */
  apiVersion: z.literal(RESOURCE_API_VERSION),
  /** Always `AccessPolicy`. */
  kind: z.literal("AccessPolicy"),
  /** Name and namespace. */
  metadata: ZObjectMeta,
  /** Who may call. */
  spec: ZAccessPolicySpec,
});
export type AccessPolicyResource = z.infer<typeof ZAccessPolicyResource>;

/** Whether a source names the caller. A source without namespace means the policy's namespace. */
export function sourceMatches(
  source: AccessSourceSpec,
  caller: ServiceRef,
  policyNamespace: string,
): boolean {
  if (source.service !== undefined) {
    return source.service === caller.service && (source.namespace ?? policyNamespace) === caller.namespace;
  }
  return source.namespace === caller.namespace;
}

/** Whether a rule can apply to requests (or TCP connections) from this caller (methods and paths aside). */
export function ruleMatchesCaller(
  rule: AccessRuleSpec,
  caller: ServiceRef,
  policyNamespace: string,
): boolean {
  return rule.from === undefined || rule.from.some((s) => sourceMatches(s, caller, policyNamespace));
}

/**
 * Whether a rule applies to every request of the callers it names, i.e. has no HTTP-only condition. Over TCP
 * a rule without it is the only kind of allow rule that can match (see the semantics at the top).
 */
export function ruleCoversAllRequests(rule: AccessRuleSpec): boolean {
  return rule.methods === undefined && rule.paths === undefined;
}

/** How a protected service is called: HTTP requests, or raw TCP connections (judged by caller only). */
export type AccessProtocol = "http" | "tcp";

/**
 * What the AccessPolicies of one service mean for one calling service: `allowed` (every request), `denied` (no
 * request at all) or `partial` (some methods or paths). For a `tcp` service it is what the sidecar enforces
 * on connections (never `partial`): a deny rule naming the caller denies, whatever its methods and paths; an
 * allow rule with methods or paths allows nothing.
 */
export type AccessVerdict = "allowed" | "denied" | "partial";

/**
 * Requests to judge: one method (or `OTHER`, any method outside ACCESS_METHODS) and a path, either a concrete
 * one (`/api/items/1`, the query left out) or a recorded prefix (`/api/*`, `/*`: every path under it), as access
 * observations name them (contracts' ZAccessPrefix). A concrete path ending in `*` is read as a prefix.
 */
export interface AccessRequest {
  method: string;
  path: string;
}

const STANDARD_METHODS: ReadonlySet<string> = new Set(ACCESS_METHODS);

/** The paths a rule path or a request path stands for: exactly one, or every path starting with a prefix. */
const pathSet = (p: string) => (p.endsWith("*") ? { prefix: p.slice(0, -1) } : { exact: p });

/** Whether the rule's paths match every path of the request (as the sidecar's authz matches them). */
function pathsCover(rule: AccessRuleSpec, path: string): boolean {
  if (rule.paths === undefined) return true;
  const r = pathSet(path);
  return rule.paths.some((rp) => {
    const q = pathSet(rp);
    if (q.prefix !== undefined) return (r.prefix ?? r.exact!).startsWith(q.prefix);
    return r.exact !== undefined && r.exact === q.exact;
  });
}

/** Whether the rule's paths match some path of the request. */
function pathsOverlap(rule: AccessRuleSpec, path: string): boolean {
  if (rule.paths === undefined) return true;
  const r = pathSet(path);
  return rule.paths.some((rp) => {
    const q = pathSet(rp);
    if (r.exact !== undefined)
      return q.prefix !== undefined ? r.exact.startsWith(q.prefix) : r.exact === q.exact;
    return q.prefix !== undefined
      ? q.prefix.startsWith(r.prefix!) || r.prefix!.startsWith(q.prefix)
      : q.exact!.startsWith(r.prefix!);
  });
}

function methodCovered(rule: AccessRuleSpec, method: string): boolean {
  return rule.methods === undefined || (method !== ACCESS_OTHER_METHOD && rule.methods.includes(method));
}

function methodOverlaps(rule: AccessRuleSpec, method: string): boolean {
  if (rule.methods === undefined || rule.methods.includes(method)) return true;
  // `OTHER` stands for every method outside the standard set: a rule naming one of those may match it.
  return method === ACCESS_OTHER_METHOD && rule.methods.some((m) => !STANDARD_METHODS.has(m));
}

/**
 * What the AccessPolicies of one service mean for one caller's requests. With `request`, for those requests
 * only (HTTP): `allowed` when every one of them is, `denied` when none is, `partial` when it depends on the
 * concrete path or method within a recorded prefix or `OTHER`. Without it, for every request of the caller.
 */
export function accessVerdict(
  policies: readonly { metadata: { namespace: string }; spec: AccessPolicySpec }[],
  caller: ServiceRef,
  protocol: AccessProtocol = "http",
  request?: AccessRequest,
): AccessVerdict {
  if (request !== undefined && protocol === "http") return requestVerdict(policies, caller, request);
  const tcp = protocol === "tcp";
  let anyAllow = false;
  let allowAll = false;
  let allowSome = false;
  let denySome = false;
  for (const p of policies) {
    const ns = p.metadata.namespace;
    for (const r of p.spec.deny ?? []) {
      if (!ruleMatchesCaller(r, caller, ns)) continue;
      if (tcp || ruleCoversAllRequests(r)) return "denied";
      denySome = true;
    }
    for (const r of p.spec.allow ?? []) {
      anyAllow = true;
      if (!ruleMatchesCaller(r, caller, ns)) continue;
      if (ruleCoversAllRequests(r)) allowAll = true;
      else if (!tcp) allowSome = true;
    }
  }
  if (anyAllow && !allowAll && !allowSome) return "denied";
  if (denySome || (anyAllow && !allowAll)) return "partial";
  return "allowed";
}

function requestVerdict(
  policies: readonly { metadata: { namespace: string }; spec: AccessPolicySpec }[],
  caller: ServiceRef,
  request: AccessRequest,
): AccessVerdict {
  const { method } = request;
  const q = request.path.indexOf("?");
  const path = q === -1 ? request.path : request.path.slice(0, q);
  let anyAllow = false;
  let allowAll = false;
  let allowSome = false;
  let denySome = false;
  for (const p of policies) {
    const ns = p.metadata.namespace;
    for (const r of p.spec.deny ?? []) {
      if (!ruleMatchesCaller(r, caller, ns) || !methodOverlaps(r, method) || !pathsOverlap(r, path)) continue;
      if (methodCovered(r, method) && pathsCover(r, path)) return "denied";
      denySome = true;
    }
    for (const r of p.spec.allow ?? []) {
      anyAllow = true;
      if (!ruleMatchesCaller(r, caller, ns) || !methodOverlaps(r, method) || !pathsOverlap(r, path)) continue;
      if (methodCovered(r, method) && pathsCover(r, path)) allowAll = true;
      else allowSome = true;
    }
  }
  if (anyAllow && !allowAll && !allowSome) return "denied";
  if (denySome || (anyAllow && !allowAll)) return "partial";
  return "allowed";
}
