// "Restrict callers to what was observed": an AccessPolicy allowing exactly the callers telemetry saw calling a
// service over a window, with the evidence. Read-only: the result carries a change operation that the caller
// proposes with createChange, which applies the usual rules (editor role, validation, approvals).
//
// Decisions (see the contracts' policy-suggestion.ts for the shapes):
// - Callers are allowed by identity (namespace/service) and, when asked (`methods`, `paths`), only the methods
//   and path prefixes the callee's sidecars observed them using (TelemetryAccessRollup, decision 006). A
//   caller whose requests in the window are not all accounted for by observations (older proxies, TCP, before
//   the feature) is allowed by identity alone, with a warning: a rule must never refuse what was seen.
// - The suggestion lives in one AccessPolicy per service, `<service>-observed`: created the first time, then
//   updated in place (its allow list replaced, its deny rules kept: they only ever narrow). Other
//   AccessPolicies of the service are left alone; where they allow more than was observed, a warning says so,
//   because allow rules of all policies add up and the restriction is then not complete.
// - It never widens access: a caller refused now stays out, and one that other policies limit by method or
//   path is left to them.
// - Callers without an identity (plaintext, permissive mTLS) cannot be allowed by identity: listed, warned
//   about, and (as the impact preview shows) refused once the policy is in force.
// - Evidence is what the service's own sidecars reported (inbound): they saw the caller's certificate. A
//   caller's report about itself is listed, never allowed.
import {
  ACCESS_ANY_PATH,
  ACCESS_METHODS,
  ACCESS_OTHER_METHOD,
  accessVerdict,
  parseResource,
  RESOURCE_API_VERSION,
  ruleCoversAllRequests,
  ruleMatchesCaller,
  serviceKey,
  SUGGESTION_WINDOW_MAX_MS,
  ZPolicySuggestInput,
  type AccessPolicyResource,
  type AccessProtocol,
  type AccessRuleSpec,
  type AccessSourceSpec,
  type PolicySuggestInput,
  type PolicySuggestion,
  type ServiceRef,
  type SuggestedCaller,
  parseSuggestionWindow,
} from "@trellis/contracts";
import { Prisma, type Db } from "@trellis/db";
import { requireRole, type Actor } from "./actor.js";
import { AppError, parseInput } from "./errors.js";
import { trafficClock } from "./traffic.js";

const MINUTE = 60_000;
/** What the callee's sidecar reports for a peer without a mesh identity (dataplane config/snapshot.ts). */
const NO_IDENTITY = "unknown";

/** The AccessPolicy a suggestion writes for `service`: a DNS label (≤ 63 characters) whatever its length. */
export function suggestedPolicyName(service: string): string {
  return `${service.slice(0, 54).replace(/-+$/, "")}-observed`;
}

interface CallerRow {
  reporter: string;
  sn: string;
  ss: string;
  requests: number;
  mtls: number;
  last: Date;
}

/** A caller as one reporter saw it: the callee's sidecars (inbound) when they did, else the caller's own. */
interface Observed extends Omit<SuggestedCaller, "status" | "lastSeen"> {
  last: Date;
  reporter: "inbound" | "outbound";
}

/** TelemetryEdgeRollup's bucket, aligned on the epoch as its migration's "telemetry_edge_bucket" aligns it. */
const EDGE_BUCKET = 10 * MINUTE;

/**
 * Callers of one service over [from, until), per reporter, summed in PostgreSQL. As for the graph
 * (traffic.ts queryEdgeTotals), the window's whole 10-minute buckets are read from TelemetryEdgeRollup and
 * only its ragged ends from the per-minute rows, so a week moves about a tenth of the rows (and no status
 * codes). A caller last seen inside the coarse part gets its exact minute from one more, narrow query.
 */
async function observedCallers(db: Db, ns: string, svc: string, from: Date, until: Date) {
  const coarseFrom = new Date(Math.ceil(from.getTime() / EDGE_BUCKET) * EDGE_BUCKET);
  const coarseUntil = new Date(Math.floor(until.getTime() / EDGE_BUCKET) * EDGE_BUCKET);
  const coarse = coarseFrom < coarseUntil;
  const dest = Prisma.sql`"destNamespace" = ${ns} AND "destService" = ${svc}`;
  const minutes = coarse
    ? Prisma.sql`(("bucket" >= ${from} AND "bucket" < ${coarseFrom}) OR ("bucket" >= ${coarseUntil} AND "bucket" < ${until}))`
    : Prisma.sql`"bucket" >= ${from} AND "bucket" < ${until}`;
  const tenMinutes = coarse
    ? Prisma.sql`UNION ALL
      SELECT "reporter", "sourceNamespace", "sourceService", "requests"::float8, "mtlsRequests"::float8, "bucket"
      FROM "TelemetryEdgeRollup" WHERE ${dest} AND "bucket" >= ${coarseFrom} AND "bucket" < ${coarseUntil}`
    : Prisma.empty;
  const rows = await db.$queryRaw<CallerRow[]>`
    SELECT reporter, sn, ss, SUM(requests) AS requests, SUM(mtls) AS mtls, MAX(last) AS last
    FROM (
      SELECT "reporter" AS reporter, "sourceNamespace" AS sn, "sourceService" AS ss,
             "requests"::float8 AS requests, "mtlsRequests"::float8 AS mtls, "bucket" AS last
      FROM "TelemetryRollup" WHERE ${dest} AND ${minutes}
      ${tenMinutes}
    ) r
    GROUP BY 1, 2, 3`;

  // Both sidecars report each call. Only the callee's (inbound) report is evidence: its sidecar names the
  // caller by the certificate its authorization checks. A caller's own (outbound) report is its word alone,
  // and any proxy may claim calls to a service its config carries (issue 15, finding 2): a caller seen only
  // that way is listed as unconfirmed and never allowed.
  const perReporter = new Map<string, Observed>();
  for (const r of rows) {
    const reporter = r.reporter === "inbound" ? "inbound" : "outbound";
    const k = `${r.sn}/${r.ss}`;
    const prev = perReporter.get(k);
    if (prev !== undefined && !(reporter === "inbound" && prev.reporter === "outbound")) continue;
    perReporter.set(k, {
      namespace: r.sn,
      service: r.ss,
      requests: Math.round(r.requests),
      mtlsShare: r.requests > 0 ? Math.min(1, r.mtls / r.requests) : 0,
      last: r.last,
      reporter,
    });
  }
  const callers = [...perReporter.values()].filter((c) => c.requests > 0);

  // Last seen inside the coarse part: that 10-minute bucket's start, made exact from its per-minute rows.
  const vague = callers.filter((c) => coarse && c.last >= coarseFrom && c.last < coarseUntil);
  if (vague.length > 0) {
    const exact = await db.$queryRaw<{ sn: string; ss: string; last: Date }[]>`
      SELECT "sourceNamespace" AS sn, "sourceService" AS ss, MAX("bucket") AS last
      FROM "TelemetryRollup"
      WHERE ${dest} AND (${Prisma.join(
        vague.map(
          (c) =>
            Prisma.sql`("reporter" = ${c.reporter} AND "sourceNamespace" = ${c.namespace} AND "sourceService" = ${c.service} AND "bucket" >= ${c.last} AND "bucket" < ${new Date(c.last.getTime() + EDGE_BUCKET)})`,
        ),
        " OR ",
      )})
      GROUP BY 1, 2`;
    for (const e of exact) {
      const c = perReporter.get(`${e.sn}/${e.ss}`);
      if (c !== undefined && e.last > c.last) c.last = e.last;
    }
  }

  return callers
    .sort((a, b) => byCodeUnits(a.namespace, b.namespace) || byCodeUnits(a.service, b.service))
    .map(({ last, ...c }) => ({ ...c, lastSeen: last.toISOString() }));
}

/** What the callee's sidecars observed one caller asking for: path prefix → methods, and the requests. */
interface CallerAccess {
  byPath: Map<string, Set<string>>;
  requests: number;
}

/**
 * Access observations of callers of one service over [from, until), from the per-minute TelemetryAccessRollup
 * (the same minutes TelemetryRollup's counts cover, so the two can be compared per caller).
 */
async function observedAccess(db: Db, ns: string, svc: string, from: Date, until: Date) {
  const rows = await db.$queryRaw<
    { sn: string; ss: string; method: string; path: string; requests: number }[]
  >`
    SELECT "sourceNamespace" AS sn, "sourceService" AS ss, "method", "path", SUM("requests")::float8 AS requests
    FROM "TelemetryAccessRollup"
    WHERE "destNamespace" = ${ns} AND "destService" = ${svc} AND "bucket" >= ${from} AND "bucket" < ${until}
    GROUP BY 1, 2, 3, 4`;
  const out = new Map<string, CallerAccess>();
  for (const r of rows) {
    const k = `${r.sn}/${r.ss}`;
    const a = out.get(k) ?? { byPath: new Map<string, Set<string>>(), requests: 0 };
    out.set(k, a);
    const methods = a.byPath.get(r.path) ?? new Set<string>();
    a.byPath.set(r.path, methods);
    methods.add(r.method);
    a.requests += Math.round(r.requests);
  }
  return out;
}

const METHOD_ORDER = new Map<string, number>([...ACCESS_METHODS, ACCESS_OTHER_METHOD].map((m, i) => [m, i]));
const byMethodOrder = (a: string, b: string) => (METHOD_ORDER.get(a) ?? 99) - (METHOD_ORDER.get(b) ?? 99);

/**
 * The (methods, paths) conditions that allow exactly what one caller was seen asking for: paths grouped by the
 * set of methods seen on them, one condition per group. `OTHER` (a method outside the standard set, which no
 * rule can name) lifts the method condition of its group, and `/*` (prefixes the proxy folded) the path
 * condition: coarser, never narrower than what was seen. Undefined: not narrowed by that.
 */
function conditionsFor(
  a: CallerAccess,
  want: { methods: boolean; paths: boolean },
): { methods?: string[]; paths?: string[] }[] {
  const anyMethod = (ms: Iterable<string>) => [...ms].includes(ACCESS_OTHER_METHOD);
  if (!want.paths) {
    const all = new Set<string>();
    for (const ms of a.byPath.values()) for (const m of ms) all.add(m);
    return [anyMethod(all) ? {} : { methods: [...all].sort(byMethodOrder) }];
  }
  const groups = new Map<string, { methods?: string[]; paths: string[] }>();
  for (const [path, ms] of a.byPath) {
    const methods = !want.methods || anyMethod(ms) ? undefined : [...ms].sort(byMethodOrder);
    const key = methods?.join(",") ?? "*";
    const g = groups.get(key) ?? { ...(methods ? { methods } : {}), paths: [] };
    groups.set(key, g);
    g.paths.push(path);
  }
  return [...groups.values()]
    .map((g) => ({
      ...(g.methods ? { methods: g.methods } : {}),
      ...(g.paths.includes(ACCESS_ANY_PATH) ? {} : { paths: g.paths.sort(byCodeUnits) }),
    }))
    .sort((x, y) => byCodeUnits(JSON.stringify(x), JSON.stringify(y)));
}

/**
 * Plain code-unit order, the same in every runtime: localeCompare depends on the locale and its ICU data, and
 * the suggestion's YAML must not.
 */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The oldest telemetry kept (the control plane prunes rollups after its retention, 7 days by default). */
async function oldestTelemetry(db: Db): Promise<Date | null> {
  const r = await db.telemetryRollup.aggregate({ _min: { bucket: true } });
  return r._min.bucket;
}

/**
 * Proposes an AccessPolicy that lets only the callers seen in the window call `namespace/service`, and shows
 * what it was drawn from. Needs the viewer role in the namespace; proposing it takes what createChange takes.
 */
export async function suggestAccessPolicy(
  db: Db,
  actor: Actor,
  rawInput: PolicySuggestInput,
): Promise<PolicySuggestion> {
  const {
    namespace: ns,
    service: svc,
    window,
    methods: byMethod,
    paths: byPath,
  } = parseInput(ZPolicySuggestInput, rawInput);
  requireRole(actor, "viewer", ns);

  const ms = Math.min(parseSuggestionWindow(window)!, SUGGESTION_WINDOW_MAX_MS);
  const until = new Date(trafficClock.now());
  const from = new Date(Math.floor((until.getTime() - ms) / MINUTE) * MINUTE);

  const narrowing = byMethod || byPath;
  const [serviceRow, policyRows, observed, oldest, access] = await Promise.all([
    db.service.findUnique({ where: { namespace_name: { namespace: ns, name: svc } } }),
    db.resource.findMany({ where: { kind: "AccessPolicy", namespace: ns }, orderBy: { name: "asc" } }),
    observedCallers(db, ns, svc, from, until),
    oldestTelemetry(db),
    narrowing ? observedAccess(db, ns, svc, from, until) : null,
  ]);
  if (serviceRow === null && observed.length === 0)
    throw new AppError(
      "NOT_FOUND",
      `no service ${ns}/${svc} is registered or was called in the last ${window}`,
    );
  const protocol: AccessProtocol = serviceRow?.protocol === "tcp" ? "tcp" : "http";

  // The service's AccessPolicies in force, and which of them the suggestion takes over.
  const name = suggestedPolicyName(svc);
  const policies: { resource: AccessPolicyResource; revision: number }[] = [];
  for (const r of policyRows) {
    const p = parseResource({
      apiVersion: RESOURCE_API_VERSION,
      kind: r.kind,
      metadata: { name: r.name, namespace: r.namespace },
      spec: r.spec,
    });
    if (p.ok && p.resource.kind === "AccessPolicy" && p.resource.spec.service === svc)
      policies.push({ resource: p.resource, revision: r.revision });
  }
  const own = policies.find((p) => p.resource.metadata.name === name) ?? null;
  const others = policies.filter((p) => p !== own).map((p) => p.resource);
  const inForce = policies.map((p) => p.resource);

  const callers: SuggestedCaller[] = observed.map(({ reporter, ...c }) => {
    const ref: ServiceRef = { namespace: c.namespace, service: c.service };
    if (reporter === "outbound") return { ...c, status: "unconfirmed" };
    if (c.namespace === NO_IDENTITY && c.service === NO_IDENTITY) return { ...c, status: "no-identity" };
    if (accessVerdict(inForce, ref, protocol) === "denied") return { ...c, status: "denied-now" };
    // Other policies that let it call only some methods or paths keep deciding: an identity rule would
    // lift their limits. (Over TCP such rules match nothing, so they limit nobody.)
    const limited = (kind: "all" | "some") =>
      others.some((p) =>
        (p.spec.allow ?? []).some(
          (r) =>
            ruleMatchesCaller(r, ref, p.metadata.namespace) &&
            (kind === "all" ? ruleCoversAllRequests(r) : !ruleCoversAllRequests(r)),
        ),
      );
    if (protocol === "http" && limited("some") && !limited("all"))
      return { ...c, status: "limited-elsewhere" };
    return { ...c, status: "allowed" };
  });

  const allowed = callers.filter((c) => c.status === "allowed");
  // Methods and paths apply to HTTP requests only: over TCP an allow rule with either matches no connection.
  const narrow = narrowing && protocol === "http";
  const wholeCallers: AccessSourceSpec[] = [];
  const narrowed = new Map<
    string,
    { cond: { methods?: string[]; paths?: string[] }; from: AccessSourceSpec[] }
  >();
  const partial: SuggestedCaller[] = [];
  const folded: SuggestedCaller[] = [];
  for (const c of allowed) {
    const src: AccessSourceSpec = { namespace: c.namespace, service: c.service };
    const a = narrow ? access!.get(serviceKey(c)) : undefined;
    if (narrow) {
      const seen = a ?? { byPath: new Map<string, Set<string>>(), requests: 0 };
      const methods = new Set<string>();
      for (const ms of seen.byPath.values()) for (const m of ms) methods.add(m);
      c.observed = {
        methods: [...methods].sort(byMethodOrder),
        paths: [...seen.byPath.keys()].sort(byCodeUnits),
        requests: seen.requests,
        // Every request the callee's sidecars counted for it carries an observation from the same report.
        complete: seen.requests >= c.requests,
      };
    }
    if (a === undefined || !c.observed!.complete) {
      if (narrow) partial.push(c);
      wholeCallers.push(src);
      continue;
    }
    const conds = conditionsFor(a, { methods: byMethod, paths: byPath });
    const lifted = conds.some(
      (k) => (byMethod && k.methods === undefined) || (byPath && k.paths === undefined),
    );
    if (lifted) folded.push(c);
    if (conds.some((k) => k.methods === undefined && k.paths === undefined)) {
      wholeCallers.push(src);
      continue;
    }
    for (const cond of conds) {
      const key = JSON.stringify(cond);
      const g = narrowed.get(key) ?? { cond, from: [] };
      narrowed.set(key, g);
      g.from.push(src);
    }
  }
  const allow: AccessRuleSpec[] = [
    ...(wholeCallers.length > 0 ? [{ from: wholeCallers }] : []),
    // By caller (the first it names), then by condition: the same YAML for the same evidence.
    ...[...narrowed]
      .map(([key, g]) => ({ key: `${serviceKey(g.from[0] as ServiceRef)}\u0000${key}`, g }))
      .sort((x, y) => byCodeUnits(x.key, y.key))
      .map(({ g }) => ({ from: g.from, ...g.cond })),
  ];
  const resource: AccessPolicyResource | null =
    allowed.length === 0
      ? null
      : {
          apiVersion: RESOURCE_API_VERSION,
          kind: "AccessPolicy",
          metadata: { name, namespace: ns },
          spec: {
            service: svc,
            allow,
            ...(own?.resource.spec.deny ? { deny: own.resource.spec.deny } : {}),
          },
        };

  const warnings: string[] = [];
  const list = (cs: readonly SuggestedCaller[]) => cs.map((c) => serviceKey(c)).join(", ");
  const anonymous = callers.filter((c) => c.status === "no-identity");
  if (anonymous.length > 0) {
    const n = anonymous.reduce((a, c) => a + c.requests, 0);
    warnings.push(
      `${n} request${n === 1 ? "" : "s"} came from callers without a mesh identity (plaintext, under permissive mTLS): an allow list by identity cannot admit them, and once it is in force they are refused`,
    );
  }
  const unconfirmed = callers.filter((c) => c.status === "unconfirmed");
  if (unconfirmed.length > 0)
    warnings.push(
      `${list(unconfirmed)}: only ${unconfirmed.length === 1 ? "its" : "their"} own sidecar reported calling ${ns}/${svc}, whose sidecars never saw ${unconfirmed.length === 1 ? "it" : "them"}; a caller's word about itself is no evidence, so left out`,
    );
  const refused = callers.filter((c) => c.status === "denied-now");
  if (refused.length > 0)
    warnings.push(
      `${list(refused)}: refused by the AccessPolicies in force now, so left out (they stay refused)`,
    );
  if (narrowing && protocol === "tcp")
    warnings.push(
      `${ns}/${svc} is a TCP service: connections have no methods or paths, so its callers are allowed by identity`,
    );
  if (partial.length > 0)
    warnings.push(
      `${list(partial)}: the service's sidecars recorded methods and paths for only part of ${partial.length === 1 ? "its" : "their"} requests in the window (proxies older than access observations, TCP connections, or calls before they were recorded), so allowed by identity alone rather than refuse requests that were seen`,
    );
  if (folded.length > 0)
    warnings.push(
      `${list(folded)}: seen with methods outside the standard set, or with more path prefixes than a proxy records per interval, so allowed any method or any path there`,
    );
  const limitedCallers = callers.filter((c) => c.status === "limited-elsewhere");
  if (limitedCallers.length > 0)
    warnings.push(
      `${list(limitedCallers)}: allowed only some methods or paths by other AccessPolicies, which keep deciding for them`,
    );
  // Allow rules add up across policies: another policy that allows more keeps it allowed.
  const seen = new Set(
    callers.filter((c) => c.status !== "no-identity" && c.status !== "unconfirmed").map((c) => serviceKey(c)),
  );
  for (const p of others) {
    for (const r of p.spec.allow ?? []) {
      if (r.from === undefined) {
        warnings.push(
          `AccessPolicy ${p.metadata.name} allows every caller${ruleCoversAllRequests(r) ? "" : " (some methods or paths)"}: while it is in force, this suggestion does not restrict that; narrow or delete it in the same change`,
        );
        continue;
      }
      for (const s of r.from) {
        const what =
          s.service === undefined
            ? `every service of namespace ${s.namespace}`
            : seen.has(`${s.namespace ?? p.metadata.namespace}/${s.service}`)
              ? null
              : `${s.namespace ?? p.metadata.namespace}/${s.service}`;
        if (what !== null)
          warnings.push(
            `AccessPolicy ${p.metadata.name} also allows ${what}, not seen in the window: it stays allowed while that policy is in force`,
          );
      }
    }
  }
  // A window longer than the telemetry kept sees less than it says: a caller of last month may be gone.
  if (oldest !== null && oldest.getTime() > from.getTime() + MINUTE)
    warnings.push(
      `the window starts at ${from.toISOString()} but telemetry only goes back to ${oldest.toISOString()} (the mesh is younger, or older telemetry was pruned): callers seen only before then are not in the suggestion`,
    );
  if (resource === null)
    warnings.unshift(
      `no caller with a mesh identity was seen calling ${ns}/${svc} in the last ${window}: nothing to propose (an empty allow list would refuse every request; write deny: [{}] yourself if that is what you want)`,
    );

  const title = `Restrict callers of ${ns}/${svc} to those observed in the last ${window}`;
  const description = [
    `Allows only the callers seen calling ${ns}/${svc} from ${from.toISOString()} to ${until.toISOString()} (${window}), by mesh identity: ${allowed.length > 0 ? list(allowed) : "none"}.`,
    narrow
      ? `Each caller is allowed only the ${byMethod && byPath ? "methods and path prefixes" : byMethod ? "methods" : "path prefixes"} its requests were observed with, where observations cover all of them.`
      : "The callers are allowed whole, not per method or path.",
    ...(own
      ? [
          `Replaces the allow list of AccessPolicy ${name} (revision ${own.revision}); its deny rules are kept.`,
        ]
      : []),
    ...warnings.map((w) => `Note: ${w}.`),
    "Proposed by “Restrict callers to what was observed” (trellis policy suggest).",
  ]
    .join("\n")
    .slice(0, 10_000); // the change request's limit; only a huge list of warnings gets near it

  return {
    namespace: ns,
    service: svc,
    window: { from: from.toISOString(), until: until.toISOString(), length: window },
    granularity: !narrow
      ? "identity"
      : byMethod && byPath
        ? "methods-and-paths"
        : byMethod
          ? "methods"
          : "paths",
    resource,
    operation:
      resource === null
        ? null
        : own
          ? { action: "update", resource, baseRevision: own.revision }
          : { action: "create", resource },
    current: own ? (policyRows.find((r) => r.name === name)!.spec as Record<string, unknown>) : null,
    title,
    description,
    callers,
    warnings,
  };
}
