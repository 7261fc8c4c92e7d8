import {
  durationMs,
  effectiveBackends,
  matchesEverything,
  type HeaderEditsSpec,
  type KeyMatchSpec,
  type RetrySpec,
  type RouteMatchSpec,
  type RouteResource,
  type RouteRuleSpec,
  type StringMatchSpec,
} from "@trellis/contracts";
import type { MeshDefaults } from "./mesh-settings.js";
import type { HeaderEditsInput, RetryPolicyInput, RouteInput, RouteMatchInput } from "./proxy-types.js";
import { compileRateLimit } from "./rate-limit.js";
import { cmp, sortedRecord, withoutUndefined } from "./util.js";

// Route resources → the routes of one outbound service. When to edit this file: when ZRouteRuleSpec or the
// proxy's ZRoute gains a field.

/** Retries with the defaults the resource docs promise; `attempts: 0` means none. */
export const RETRY_DEFAULTS = {
  retryOn: ["connect-failure", "reset", "5xx"] as RetryPolicyInput["retryOn"] & object,
  backoffBaseMs: 25,
  backoffMaxMs: 250,
};

export function compileRetries(r: RetrySpec | undefined): RetryPolicyInput | undefined {
  if (r === undefined || r.attempts === 0) return undefined;
  const base = r.backoff ? durationMs(r.backoff.base) : RETRY_DEFAULTS.backoffBaseMs;
  const max = r.backoff ? durationMs(r.backoff.max) : RETRY_DEFAULTS.backoffMaxMs;
  return {
    attempts: r.attempts,
    perTryTimeoutMs: r.perTryTimeout === undefined ? 0 : durationMs(r.perTryTimeout),
    retryOn: [...(r.retryOn ?? RETRY_DEFAULTS.retryOn)],
    retriableStatusCodes: [...new Set(r.retriableStatusCodes ?? [])].sort((a, b) => a - b),
    retryNonIdempotent: r.retryNonIdempotent ?? false,
    backoffBaseMs: base,
    // The validator refuses max < base; a stored resource that slipped through still compiles to a valid config.
    backoffMaxMs: Math.max(base, max),
  };
}

/** The route for requests no rule matched, and for services without a Route: every version, mesh defaults. */
export function defaultRoute(mesh: MeshDefaults): RouteInput {
  return withoutUndefined({
    name: "default",
    match: {},
    timeoutMs: mesh.timeoutMs,
    retries: compileRetries(mesh.retries),
  });
}

/**
 * The routes of one service: the rules of its Routes in order (several Routes, which validation refuses, are
 * taken in name order), then the default route unless the last rule already matches everything.
 *
 * `versions` are the versions with at least one healthy endpoint. A backend whose version has none gets weight
 * 0, so its share goes to the rule's other versions; traffic never leaves the versions a rule names. When none
 * of a rule's versions has an endpoint, the rule answers 503 (as a fault abort, which the proxy config can
 * express) unless the service has no endpoint at all, where the proxy itself answers 503.
 */
export function compileRoutes(
  routes: readonly RouteResource[],
  versions: ReadonlySet<string>,
  hasEndpoints: boolean,
  mesh: MeshDefaults,
): RouteInput[] {
  const out: RouteInput[] = [];
  let last: RouteRuleSpec | undefined;
  for (const route of [...routes].sort((a, b) => cmp(a.metadata.name, b.metadata.name))) {
    route.spec.rules.forEach((rule, i) => {
      out.push(compileRule(route.metadata.name, rule, i, versions, hasEndpoints, mesh));
      last = rule;
    });
  }
  if (last === undefined || !matchesEverything(last.match)) out.push(defaultRoute(mesh));
  return out;
}

function compileRule(
  routeName: string,
  rule: RouteRuleSpec,
  index: number,
  versions: ReadonlySet<string>,
  hasEndpoints: boolean,
  mesh: MeshDefaults,
): RouteInput {
  let backends = effectiveBackends(rule)?.map((b) => ({
    version: b.version,
    weight: versions.has(b.version) ? b.weight : 0,
  }));
  let fault: RouteInput["fault"] = rule.fault
    ? withoutUndefined({
        delay: rule.fault.delay
          ? { percent: rule.fault.delay.percent, ms: durationMs(rule.fault.delay.duration) }
          : undefined,
        abort: rule.fault.abort
          ? { percent: rule.fault.abort.percent, status: rule.fault.abort.status }
          : undefined,
      })
    : undefined;
  if (backends !== undefined && backends.every((b) => b.weight === 0)) {
    // Nothing this rule may send to is up: leave the split out (it would be invalid) and answer 503 ourselves,
    // rather than spill the traffic onto versions the rule does not name.
    backends = undefined;
    if (hasEndpoints) fault = { ...fault, abort: { percent: 100, status: 503 } };
  }
  return withoutUndefined({
    name: `${routeName}/${rule.name ?? `rule-${index}`}`,
    match: compileMatch(rule.match),
    backends,
    timeoutMs: rule.timeout === undefined ? mesh.timeoutMs : durationMs(rule.timeout),
    retries: compileRetries(rule.retries ?? mesh.retries),
    fault,
    requestHeaders: compileHeaderEdits(rule.requestHeaders),
    responseHeaders: compileHeaderEdits(rule.responseHeaders),
    rateLimit: rule.rateLimit ? compileRateLimit(rule.rateLimit) : undefined,
  });
}

function compileMatch(m: RouteMatchSpec | undefined): RouteMatchInput {
  if (m === undefined) return {};
  return withoutUndefined({
    path: m.path ? stringMatch(m.path) : undefined,
    methods: m.methods ? [...new Set(m.methods)].sort() : undefined,
    headers: m.headers?.map(keyMatch),
    query: m.query?.map(keyMatch),
  });
}

function stringMatch(m: StringMatchSpec): { exact: string } | { prefix: string } | { regex: string } {
  if (m.exact !== undefined) return { exact: m.exact };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  return { regex: m.regex ?? "" };
}

function keyMatch(k: KeyMatchSpec) {
  const hasValue = k.exact !== undefined || k.prefix !== undefined || k.regex !== undefined;
  return withoutUndefined({
    name: k.name,
    value: hasValue ? stringMatch(k) : undefined,
    invert: k.invert ?? false,
  });
}

function compileHeaderEdits(h: HeaderEditsSpec | undefined): HeaderEditsInput | undefined {
  if (h === undefined) return undefined;
  return { set: sortedRecord(h.set), add: sortedRecord(h.add), remove: [...(h.remove ?? [])] };
}
