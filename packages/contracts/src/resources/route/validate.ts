import type { IssuePath } from "../../errors.js";
import { durationMs, formatDuration, IssueList, type ResourceValidation } from "../common.js";
import { findService, othersInForce, type ValidationContext } from "../context.js";
import type { KeyMatchSpec } from "../common.js";
import { matchesEverything, type RouteMatchSpec, type RouteResource, type RouteRuleSpec } from "./schema.js";

/**
 * Semantic checks of a Route that has passed its schema. Severities:
 *
 * errors (block the change)
 * - a rule's backend weights do not sum to 100, or a weight is missing where a rule has several backends;
 * - two backends of one rule name the same version;
 * - a rule can never match because an earlier rule matches every request it would (a catch-all, the same
 *   match, or a broader one: prefix `/api` before `/api/v2`, no method condition before `GET`, a header only
 *   required present before one required to equal a value). This is an error, not a warning: the author wrote
 *   the later rule to route something, and applying the Route would silently ignore it. Put the narrower rule
 *   first. Regular expressions cover only the very same expression (no regex containment is attempted);
 * - `retryOn` has `retriable-status-codes` but no codes are given; backoff `max` below `base`;
 * - with the registry: the service is `tcp` (Routes are HTTP only); a backend with weight above 0 names a
 *   version that has no workloads; another Route already targets the same service (one Route per service).
 *
 * warnings (shown, do not block)
 * - `perTryTimeout` not shorter than `timeout` (a timed-out try leaves no time to retry);
 * - a fault delay not shorter than `timeout` (every delayed request times out);
 * - status codes given without `retriable-status-codes` in `retryOn` (ignored);
 * - with the registry: the service is not registered (yet); a backend with weight 0 names a version without
 *   workloads; a backend's version has workloads but none connected now.
 */
export function validateRoute(route: RouteResource, ctx: ValidationContext): ResourceValidation {
  const out = new IssueList();
  const { spec } = route;
  const ns = route.metadata.namespace;

  const seenMatches: string[] = [];
  let catchAll = -1;
  spec.rules.forEach((rule, i) => {
    const at: IssuePath = ["spec", "rules", i];
    if (catchAll >= 0) {
      out.error(
        at,
        `can never match: rules[${catchAll}] before it matches every request (put the catch-all rule last)`,
      );
    } else {
      const key = canonicalMatch(rule.match);
      const same = seenMatches.indexOf(key);
      if (same >= 0) out.error([...at, "match"], `can never match: rules[${same}] has the same match`);
      else {
        const broader = spec.rules.slice(0, i).findIndex((r) => covers(r.match, rule.match));
        if (broader >= 0)
          out.error(
            [...at, "match"],
            `can never match: rules[${broader}] before it matches every request this rule matches (put the narrower rule first)`,
          );
      }
      if (matchesEverything(rule.match)) catchAll = i;
    }
    seenMatches.push(canonicalMatch(rule.match));
    checkBackends(rule, at, out);
    checkRuleTimings(rule, at, out);
  });

  checkRegistry(route, ctx, out);

  for (const other of othersInForce(ctx, route)) {
    if (other.metadata.namespace === ns && other.spec.service === spec.service) {
      out.error(
        ["spec", "service"],
        `Route ${other.metadata.name} already routes ${ns}/${spec.service}; one Route per service`,
      );
    }
  }
  return out.result();
}

function checkBackends(rule: RouteRuleSpec, at: IssuePath, out: IssueList): void {
  const backends = rule.backends;
  if (backends === undefined) return;
  const firstIndex = new Map<string, number>();
  backends.forEach((b, k) => {
    const prev = firstIndex.get(b.version);
    if (prev !== undefined)
      out.error([...at, "backends", k, "version"], `duplicates backends[${prev}] (${b.version})`);
    else firstIndex.set(b.version, k);
  });
  if (backends.length === 1) {
    const w = backends[0]!.weight;
    if (w !== undefined && w !== 100) out.error([...at, "backends"], `weights must sum to 100 (got ${w})`);
    return;
  }
  let missing = false;
  backends.forEach((b, k) => {
    if (b.weight === undefined) {
      missing = true;
      out.error([...at, "backends", k, "weight"], "is required when a rule has more than one backend");
    }
  });
  if (missing) return;
  const sum = backends.reduce((acc, b) => acc + (b.weight ?? 0), 0);
  if (sum !== 100) out.error([...at, "backends"], `weights must sum to 100 (got ${sum})`);
}

/** Retry and timeout sanity for a rule, or for anything shaped like one (the mesh's defaults). */
export function checkRuleTimings(
  rule: Pick<RouteRuleSpec, "timeout" | "retries" | "fault">,
  at: IssuePath,
  out: IssueList,
): void {
  const timeout = rule.timeout === undefined ? undefined : durationMs(rule.timeout);
  const r = rule.retries;
  if (r !== undefined) {
    const onCodes = r.retryOn?.includes("retriable-status-codes") ?? false;
    const codes = r.retriableStatusCodes ?? [];
    if (onCodes && codes.length === 0) {
      out.error(
        [...at, "retries", "retriableStatusCodes"],
        "list the status codes to retry (retryOn has retriable-status-codes)",
      );
    }
    if (!onCodes && codes.length > 0) {
      out.warn(
        [...at, "retries", "retriableStatusCodes"],
        "ignored: retryOn does not include retriable-status-codes",
      );
    }
    if (r.backoff && durationMs(r.backoff.max) < durationMs(r.backoff.base)) {
      out.error([...at, "retries", "backoff", "max"], `must be at least base (${r.backoff.base})`);
    }
    if (r.perTryTimeout !== undefined && timeout !== undefined && timeout > 0 && r.attempts > 0) {
      const perTry = durationMs(r.perTryTimeout);
      if (perTry >= timeout) {
        out.warn(
          [...at, "retries", "perTryTimeout"],
          `${formatDuration(perTry)} is not shorter than timeout (${formatDuration(timeout)}): a try that times out leaves no time to retry`,
        );
      }
    }
  }
  const delay = rule.fault?.delay;
  if (
    delay &&
    timeout !== undefined &&
    timeout > 0 &&
    durationMs(delay.duration) >= timeout &&
    delay.percent > 0
  ) {
    out.warn(
      [...at, "fault", "delay", "duration"],
      `every delayed request will time out (timeout is ${formatDuration(timeout)})`,
    );
  }
}

function checkRegistry(route: RouteResource, ctx: ValidationContext, out: IssueList): void {
  if (ctx.services === undefined) return;
  const ns = route.metadata.namespace;
  const svc = findService(ctx, { namespace: ns, service: route.spec.service });
  if (svc === undefined) {
    out.warn(
      ["spec", "service"],
      `no service ${ns}/${route.spec.service} is registered (yet); the Route applies once it is`,
    );
    return;
  }
  if (svc.protocol === "tcp") {
    out.error(["spec", "service"], `${ns}/${svc.name} is a tcp service; Routes apply to http services only`);
    return;
  }
  route.spec.rules.forEach((rule, i) => {
    rule.backends?.forEach((b, k) => {
      const at: IssuePath = ["spec", "rules", i, "backends", k, "version"];
      const v = svc.versions.find((x) => x.version === b.version);
      const weight = b.weight ?? (rule.backends!.length === 1 ? 100 : 0);
      if (v === undefined || v.workloads === 0) {
        const msg = `service ${svc.name} has no workloads of version ${b.version}`;
        if (weight > 0) out.error(at, msg);
        else out.warn(at, msg);
      } else if (v.healthyWorkloads === 0 && weight > 0) {
        out.warn(
          at,
          `no workload of ${svc.name} ${b.version} is connected now; its share goes to the rule's other versions`,
        );
      }
    });
  });
}

/** A key equal for matches that select the same requests as written (order of conditions ignored). */
function canonicalMatch(m: RouteMatchSpec | undefined): string {
  if (m === undefined) return "{}";
  const keyed = (xs: RouteMatchSpec["headers"]) =>
    (xs ?? []).map((x) => JSON.stringify([x.name, x.exact, x.prefix, x.regex, x.invert ?? false])).sort();
  return JSON.stringify({
    path: m.path === undefined ? null : [m.path.exact, m.path.prefix, m.path.regex],
    methods: m.methods === undefined ? null : [...new Set(m.methods)].sort(),
    headers: keyed(m.headers),
    query: keyed(m.query),
  });
}

/**
 * Whether every request `narrow` matches is also matched by `wide` (as the proxies match: plain string
 * prefixes, header names case-insensitive, query names case-sensitive). Sound, not complete: it says yes only
 * when it can tell, so a "can never match" error is never wrong; regexes cover only themselves.
 */
export function covers(wide: RouteMatchSpec | undefined, narrow: RouteMatchSpec | undefined): boolean {
  if (matchesEverything(wide)) return true;
  const w = wide!;
  const n = narrow ?? {};
  if (w.path !== undefined && (n.path === undefined || !valueCovers(w.path, n.path))) return false;
  if (w.methods !== undefined && (n.methods === undefined || !n.methods.every((m) => w.methods!.includes(m))))
    return false;
  const keysCovered = (ws: KeyMatchSpec[] | undefined, ns: KeyMatchSpec[] | undefined, caseless: boolean) =>
    (ws ?? []).every((c) => (ns ?? []).some((d) => keyCovers(c, d, caseless)));
  return keysCovered(w.headers, n.headers, true) && keysCovered(w.query, n.query, false);
}

type ValueMatch = { exact?: string; prefix?: string; regex?: string };

/** Every value `narrow` accepts, `wide` accepts too. */
function valueCovers(wide: ValueMatch, narrow: ValueMatch): boolean {
  if (wide.exact !== undefined) return narrow.exact === wide.exact;
  if (wide.prefix !== undefined) {
    const p = wide.prefix;
    return (
      (narrow.exact !== undefined && narrow.exact.startsWith(p)) ||
      (narrow.prefix !== undefined && narrow.prefix.startsWith(p))
    );
  }
  if (wide.regex !== undefined) return narrow.regex === wide.regex;
  return true; // no value condition: any value (presence only)
}

/** Whether condition `d` (of the narrower rule) implies condition `c` (of the wider one). */
function keyCovers(c: KeyMatchSpec, d: KeyMatchSpec, caseless: boolean): boolean {
  const same = caseless ? c.name.toLowerCase() === d.name.toLowerCase() : c.name === d.name;
  if (!same) return false;
  if (c.invert || d.invert) {
    // "absent or not matching": only the very same condition is known to imply it.
    return (
      Boolean(c.invert) === Boolean(d.invert) &&
      c.exact === d.exact &&
      c.prefix === d.prefix &&
      c.regex === d.regex
    );
  }
  return valueCovers(c, d);
}
