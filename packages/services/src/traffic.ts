// Observed traffic between services, read from the telemetry rollups. Every query here is grouped in PostgreSQL
// over the (namespace, bucket) indexes, so a 24-hour window moves as few rows as a 1-minute one:
// - queryTraffic: per-minute rows (TelemetryRollup), with the status-code breakdown;
// - queryEdgeTotals: what the graph draws; whole hours and 10-minute buckets from the edge rollups (kept in
//   step by triggers, see their migrations) and a few minutes at the window's ends (graph-window.ts);
// - serviceSeries: one service's calls per step.
import {
  isErrorOutcome,
  LATENCY_BUCKETS_MS,
  ZServiceSeriesQuery,
  ZSparklinesQuery,
  ZTrafficQuery,
  type ObservedEdge,
  type ObservedTraffic,
  type SeriesPoint,
  type ServiceSeries,
  type ServiceSeriesQuery,
  type Sparklines,
  type SparklinesQuery,
  type TrafficProtocol,
  type TrafficQuery,
} from "@trellis/contracts";
import { Prisma, type Db } from "@trellis/db";
import { readableNamespaces, requireRole, type Actor } from "./actor.js";
import { parseInput } from "./errors.js";
import { LEVELS, planWindow, type Level, type LevelRange } from "./graph-window.js";

const MINUTE = 60_000;
/** Histogram slots: one per bound in LATENCY_BUCKETS_MS, plus the overflow. */
const SLOTS = LATENCY_BUCKETS_MS.length + 1;

/**
 * isErrorOutcome (contracts) as SQL over a TelemetryRollup row: 5xx, or any gRPC status but OK. Exported for
 * error-outcome.test.ts, which holds it and the edge rollup trigger to isErrorOutcome for every code.
 */
export const ERROR_OUTCOME_SQL = Prisma.sql`("statusCode" >= 500 OR ("protocol" = 'grpc' AND "statusCode" >= 400))`;

/**
 * Whether a row is a request with a status, whose latency counts and that makes its edge an HTTP one: not a
 * raw TCP connection (code 0 when let through, 403 when AccessPolicies refused it). The edge rollup's trigger
 * (migration 20261201170000) decides the same way.
 */
const HTTP_ROW_SQL = Prisma.sql`("statusCode" <> 0 AND "protocol" <> 'tcp')`;
const isHttpRow = (protocol: string, code: number) => code !== 0 && protocol !== "tcp";

/** Which report each edge is drawn from, looking at several namespaces at once (see `reporterFilter`). */
const REPORTER_FILTER = Prisma.sql`(("reporter" = 'outbound' AND ("sourceNamespace" = "destNamespace" OR "destService" = 'unknown'))
  OR ("reporter" = 'inbound' AND ("sourceNamespace" <> "destNamespace" OR "sourceService" = 'unknown')))`;

/**
 * Each call is reported by both sidecars: which report an edge is drawn from. Within a namespace, the caller's
 * (outbound): the view users feel. Callers without a sidecar only show up in the callee's inbound reports
 * (source "unknown"), so those count too. Between namespaces, a report is one tenant's word about another's
 * services, and any namespace's proxies could invent one (issue 15: 50,000 invented 503s from other/secsvc to
 * demo/reviews drew a failing edge in demo's graph). So an edge is drawn from the report of the namespace being
 * looked at (`reporterFilter(namespace)`): its outbound reports for calls it makes, its inbound reports for
 * calls it receives. Looking at several namespaces at once, an edge between two is drawn from the callee's
 * report (what reached it).
 */
function reporterFilter(namespace?: string): Prisma.Sql {
  if (namespace !== undefined)
    return Prisma.sql`(("reporter" = 'outbound' AND "sourceNamespace" = ${namespace})
      OR ("reporter" = 'inbound' AND "destNamespace" = ${namespace}
          AND ("sourceNamespace" <> ${namespace} OR "sourceService" = 'unknown')))`;
  return REPORTER_FILTER;
}

/** Which edges the actor may see: those with either end in the namespace asked for, or in a readable one. */
function edgeScope(actor: Actor, namespace: string | undefined): Prisma.Sql {
  if (namespace !== undefined) {
    requireRole(actor, "viewer", namespace);
    return Prisma.sql`("sourceNamespace" = ${namespace} OR "destNamespace" = ${namespace})`;
  }
  const readable = readableNamespaces(actor);
  if (readable === "all") return Prisma.sql`TRUE`;
  if (readable.length === 0) {
    requireRole(actor, "viewer");
    return Prisma.sql`FALSE`;
  }
  return Prisma.sql`("sourceNamespace" IN (${Prisma.join(readable)}) OR "destNamespace" IN (${Prisma.join(readable)}))`;
}

/** The clock windows are read against. Tests that replay a fixed "now" set it; nothing else does. */
export const trafficClock = { now: (): number => Date.now() };

/**
 * Where a window ends: at `until`, or now. The current minute counts up to now, since its bucket holds only
 * what has been reported so far. A `until` inside a minute that is over moves back to that minute's start: its
 * bucket holds the whole minute, and dividing that by a part of it would overstate every rate. A `until` in
 * the future is now.
 */
export function windowEnd(untilIso: string | undefined): Date {
  const now = trafficClock.now();
  if (!untilIso) return new Date(now);
  const t = Math.min(new Date(untilIso).getTime(), now);
  const minuteStart = Math.floor(t / MINUTE) * MINUTE;
  return new Date(minuteStart + MINUTE <= now ? minuteStart : t);
}

/** Whole minutes: the first bucket starts at or before the window's start, the last may be the current one. */
function trafficWindow(minutes: number, until: string | undefined) {
  const end = windowEnd(until);
  const from = new Date(Math.floor((end.getTime() - minutes * MINUTE) / MINUTE) * MINUTE);
  const seconds = Math.max(1, (end.getTime() - from.getTime()) / 1000);
  return { from, until: end, seconds };
}

/** Per-edge sums, however they were read, turned into rates, shares and quantiles. */
interface EdgeSums {
  source: ObservedEdge["source"];
  destination: ObservedEdge["destination"];
  requests: number;
  errors: number;
  mtls: number;
  http: boolean;
  protocols: Set<TrafficProtocol>;
  histogram: number[];
}
/** An edge with nothing summed yet, for the row's caller and callee (the queries' sn…dv columns). */
function emptyEdgeSums(r: EdgeKey): EdgeSums {
  return {
    source: { namespace: r.sn, service: r.ss, version: r.sv },
    destination: { namespace: r.dn, service: r.ds, version: r.dv },
    requests: 0,
    errors: 0,
    mtls: 0,
    http: false,
    protocols: new Set(),
    histogram: new Array<number>(SLOTS).fill(0),
  };
}
function edgeRates(e: EdgeSums, seconds: number): Omit<ObservedEdge, "codes"> {
  return {
    source: e.source,
    destination: e.destination,
    requests: e.requests,
    rps: e.requests / seconds,
    errorRate: e.requests > 0 ? e.errors / e.requests : 0,
    p50Ms: quantile(e.histogram, 0.5),
    p95Ms: quantile(e.histogram, 0.95),
    p99Ms: quantile(e.histogram, 0.99),
    mtlsShare: e.requests > 0 ? Math.min(1, e.mtls / e.requests) : 0,
    protocol: e.http ? "http" : "tcp",
    protocols: [...e.protocols].sort(),
  };
}

/** The edges (caller → callee) seen in a window, with rates, error share, latency quantiles and mTLS share. */
export async function queryTraffic(db: Db, actor: Actor, query: TrafficQuery): Promise<ObservedTraffic> {
  const q = parseInput(ZTrafficQuery, query);
  const scope = edgeScope(actor, q.namespace);
  const { from, until, seconds } = trafficWindow(q.minutes, q.until);
  const sv = q.versions === "split" ? Prisma.sql`"sourceVersion"` : Prisma.sql`'*'`;
  const dv = q.versions === "split" ? Prisma.sql`"destVersion"` : Prisma.sql`'*'`;
  const where = Prisma.sql`"bucket" >= ${from} AND "bucket" < ${until} AND ${reporterFilter(q.namespace)} AND ${scope}`;

  const [counts, histograms] = await Promise.all([
    db.$queryRaw<CountRow[]>`
      SELECT "sourceNamespace" AS sn, "sourceService" AS ss, ${sv} AS sv,
             "destNamespace" AS dn, "destService" AS ds, ${dv} AS dv, "statusCode" AS code,
             "protocol" AS protocol,
             SUM("requests")::float8 AS requests, SUM("mtlsRequests")::float8 AS mtls
      FROM "TelemetryRollup" WHERE ${where}
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`,
    db.$queryRaw<HistogramRow[]>`
      SELECT "sourceNamespace" AS sn, "sourceService" AS ss, ${sv} AS sv,
             "destNamespace" AS dn, "destService" AS ds, ${dv} AS dv,
             b.i::int AS i, SUM(b.v)::float8 AS n
      FROM "TelemetryRollup", unnest("latencyBuckets") WITH ORDINALITY AS b(v, i)
      WHERE ${where} AND ${HTTP_ROW_SQL}
      GROUP BY 1, 2, 3, 4, 5, 6, 7`,
  ]);

  const edges = new Map<string, EdgeSums & { codes: ObservedEdge["codes"] }>();
  for (const r of counts) {
    const k = edgeKey(r);
    let e = edges.get(k);
    if (e === undefined) {
      e = { ...emptyEdgeSums(r), codes: {} };
      edges.set(k, e);
    }
    e.requests += r.requests;
    e.mtls += r.mtls;
    e.codes[String(r.code)] = (e.codes[String(r.code)] ?? 0) + r.requests;
    if (isHttpRow(r.protocol, r.code)) e.http = true;
    e.protocols.add(r.protocol);
    if (isErrorOutcome(r.protocol, r.code)) e.errors += r.requests;
  }
  for (const h of histograms) {
    const e = edges.get(edgeKey(h));
    if (e !== undefined && h.i >= 1 && h.i <= e.histogram.length) e.histogram[h.i - 1]! += h.n;
  }

  const out: ObservedEdge[] = [];
  for (const e of edges.values()) out.push({ ...edgeRates(e, seconds), codes: e.codes });
  out.sort((a, b) => b.requests - a.requests);
  return { from: from.toISOString(), until: until.toISOString(), edges: out };
}

/** An edge's totals over a window: an ObservedEdge without the status-code breakdown. */
export type EdgeTotals = Omit<ObservedEdge, "codes">;
export interface ObservedEdgeTotals {
  from: string;
  until: string;
  edges: EdgeTotals[];
}

/**
 * One column per histogram slot, summed with the coefficient of the bucket its row stands for (see below):
 * cheaper than unnesting every row's array into 14 rows. Summed as float8 (exact for integers below 2^53, and
 * what the rows become in JS anyway): a float8 SUM is a plain addition, a bigint SUM an int128 state per group.
 */
const SLOT_SUMS = Prisma.raw(
  Array.from({ length: SLOTS }, (_, i) => `COALESCE(SUM(c * l[${i + 1}]::float8), 0) AS h${i}`).join(", "),
);
/**
 * The slots' column names in TotalsRow. Columns, not an array: the driver parses a float8 column with one
 * parseFloat, but a float8[] character by character into strings first; at 2,000 edges that (and its garbage)
 * was about a fifth of `serviceGraph`'s CPU in Node (docs/graph-benchmark.md, "Serving it").
 */
const SLOT_KEYS = Array.from({ length: SLOTS }, (_, i) => `h${i}` as const);

/** The tables of the levels graph-window.ts plans with; each row sums the per-minute rows of its bucket. */
const LEVEL_TABLE = {
  1: Prisma.raw(`"TelemetryRollup"`),
  10: Prisma.raw(`"TelemetryEdgeRollup"`),
  60: Prisma.raw(`"TelemetryEdgeRollupHour"`),
} as const satisfies Record<Level, Prisma.Sql>;

/**
 * One level's rows in the plan's ranges, each with its range's coefficient `c`, in the shape the graph sums: a
 * per-minute row is one source row, its errors and latency by its status code; a coarse row has them summed.
 */
function levelRows(level: Level, ranges: LevelRange[], keys: Prisma.Sql, filter: Prisma.Sql): Prisma.Sql {
  const at = (r: LevelRange) =>
    Prisma.sql`"bucket" >= ${new Date(r.from * MINUTE)} AND "bucket" < ${new Date(r.to * MINUTE)}`;
  const where = Prisma.join(
    ranges.map((r) => Prisma.sql`(${at(r)})`),
    " OR ",
  );
  const c = ranges.every((r) => r.coef === ranges[0]!.coef)
    ? Prisma.sql`${ranges[0]!.coef}::float8`
    : Prisma.sql`(CASE ${Prisma.join(
        ranges.map((r) => Prisma.sql`WHEN ${at(r)} THEN ${r.coef}::float8`),
        " ",
      )} END)`;
  if (level === 1)
    return Prisma.sql`
      SELECT ${keys}, "protocol" AS protocol, ${c} AS c, 1::float8 AS n, "requests"::float8 AS requests,
             CASE WHEN ${ERROR_OUTCOME_SQL} THEN "requests" ELSE 0 END::float8 AS errors,
             "mtlsRequests"::float8 AS mtls, (${HTTP_ROW_SQL})::int::float8 AS http,
             CASE WHEN ${HTTP_ROW_SQL} THEN "latencyBuckets" END AS l
      FROM ${LEVEL_TABLE[1]} WHERE (${where}) AND ${filter}`;
  return Prisma.sql`
      SELECT ${keys}, "protocol" AS protocol, ${c} AS c, "sourceRows"::float8 AS n,
             "requests"::float8 AS requests, "errors"::float8 AS errors, "mtlsRequests"::float8 AS mtls,
             "httpRows"::float8 AS http, "latencyBuckets" AS l
      FROM ${LEVEL_TABLE[level]} WHERE (${where}) AND ${filter}`;
}

/**
 * The edges seen in a window, as queryTraffic sees them but without the status-code breakdown: what the graph
 * draws. The window is read as graph-window.ts plans it: whole hours and 10-minute buckets from the edge
 * rollups, a few minutes at the ends from the per-minute rows, some of them subtracted. Every sum is exact, so
 * the answer is the one reading only per-minute rows gives, which `{ edgeRollups: false }` does (for tests and
 * the benchmark).
 *
 * Grouped per edge and protocol in a hash aggregate, and the protocols merged here: an ordered or DISTINCT
 * aggregate (the protocols as an array) made PostgreSQL sort every row it read on six text keys first, which
 * was most of the query's time (EXPLAIN ANALYZE at 2,000 edges: 537 ms with the sort, 240 ms without).
 */
export async function queryEdgeTotals(
  db: Db,
  actor: Actor,
  query: TrafficQuery,
  options: { edgeRollups?: boolean } = {},
): Promise<ObservedEdgeTotals> {
  const q = parseInput(ZTrafficQuery, query);
  const scope = edgeScope(actor, q.namespace);
  const filter = Prisma.sql`${reporterFilter(q.namespace)} AND ${scope}`;
  const { from, until, seconds } = trafficWindow(q.minutes, q.until);
  const split = q.versions === "split";
  const sv = split ? Prisma.sql`"sourceVersion"` : Prisma.sql`'*'`;
  const dv = split ? Prisma.sql`"destVersion"` : Prisma.sql`'*'`;
  const keys = Prisma.sql`"sourceNamespace" AS sn, "sourceService" AS ss, ${sv} AS sv,
    "destNamespace" AS dn, "destService" AS ds, ${dv} AS dv`;

  // In minutes: the window's buckets are those starting in [from, until), so a `until` inside the current
  // minute takes that whole minute, as queryTraffic does. Minutes from `fresh` on hold nothing yet.
  const plan = planWindow(
    from.getTime() / MINUTE,
    Math.ceil(until.getTime() / MINUTE),
    Math.floor(trafficClock.now() / MINUTE) + 1,
    options.edgeRollups === false ? [1] : LEVELS,
  );
  const parts = LEVELS.map((level) => plan.filter((r) => r.level === level))
    .filter((ranges) => ranges.length > 0)
    .map((ranges) => levelRows(ranges[0]!.level, ranges, keys, filter));

  // Latency counts HTTP rows only, as queryTraffic's histogram does (the edge rollups already hold only those).
  const rows =
    parts.length === 0
      ? []
      : await db.$queryRaw<TotalsRow[]>`
    SELECT sn, ss, sv, dn, ds, dv, protocol, SUM(c * n) AS n, SUM(c * requests) AS requests,
           SUM(c * errors) AS errors, SUM(c * mtls) AS mtls, SUM(c * http) AS http, ${SLOT_SUMS}
    FROM (${Prisma.join(parts, " UNION ALL ")}) r
    GROUP BY 1, 2, 3, 4, 5, 6, 7`;

  const sums = new Map<string, EdgeSums>();
  for (const r of rows) {
    // A protocol whose rows were all subtracted again (the window's edge cut through its bucket) is absent.
    if (r.n <= 0) continue;
    const k = edgeKey(r);
    let e = sums.get(k);
    if (e === undefined) {
      e = emptyEdgeSums(r);
      sums.set(k, e);
    }
    e.requests += r.requests;
    e.errors += r.errors;
    e.mtls += r.mtls;
    if (r.http > 0) e.http = true;
    e.protocols.add(r.protocol);
    for (let i = 0; i < SLOTS; i++) e.histogram[i]! += r[SLOT_KEYS[i]!]!;
  }
  const edges = [...sums.values()].map((e) => edgeRates(e, seconds));
  edges.sort((a, b) => b.requests - a.requests);
  return { from: from.toISOString(), until: until.toISOString(), edges };
}

/** Points per series at most, about: longer windows use coarser steps so a 24-hour chart stays light. */
const MAX_POINTS = 120;

/**
 * A window cut into whole steps of a minute or more (`maxPoints` at most, about), aligned on the epoch so the
 * same window always cuts the same steps. The first step starts at or before the window's start.
 */
function stepsOf(minutes: number, untilIso: string | undefined, maxPoints: number) {
  const until = windowEnd(untilIso);
  const step = Math.max(1, Math.ceil(minutes / maxPoints)) * MINUTE;
  const from = new Date(Math.floor((until.getTime() - minutes * MINUTE) / step) * step);
  const starts: number[] = [];
  for (let t = from.getTime(); t < until.getTime(); t += step) starts.push(t);
  /** Seconds of the step starting at `t` that have passed: the last one may be cut short by `until`. */
  const secondsOf = (t: number) => Math.max(1, (Math.min(t + step, until.getTime()) - t) / 1000);
  // The SQL expression of the step a bucket falls in, as epoch seconds.
  const at = Prisma.sql`(floor(extract(epoch FROM "bucket") / ${step / 1000}) * ${step / 1000})::float8`;
  return { until, from, stepSeconds: step / 1000, starts, secondsOf, at };
}

/**
 * Calls into one service over a window, per step (a minute, coarser for long windows), split by version or by
 * calling service, or all together; optionally only those of one caller (an edge of the graph). Two grouped
 * queries over the (destNamespace, bucket) index, like queryTraffic.
 */
export async function serviceSeries(db: Db, actor: Actor, query: ServiceSeriesQuery): Promise<ServiceSeries> {
  const q = parseInput(ZServiceSeriesQuery, query);
  requireRole(actor, "viewer", q.namespace);
  const { until, from, stepSeconds, starts, secondsOf, at } = stepsOf(q.minutes, q.until, MAX_POINTS);
  const key =
    q.by === "version"
      ? Prisma.sql`"destVersion"`
      : q.by === "caller"
        ? Prisma.sql`("sourceNamespace" || '/' || "sourceService")`
        : Prisma.sql`'*'`;
  let caller = Prisma.sql`TRUE`;
  if (q.caller !== undefined) {
    const [ns, svc] = q.caller.split("/") as [string, string];
    caller = Prisma.sql`"sourceNamespace" = ${ns} AND "sourceService" = ${svc}`;
    if (q.callerVersion !== undefined)
      caller = Prisma.sql`${caller} AND "sourceVersion" = ${q.callerVersion}`;
  }
  const where = Prisma.sql`"destNamespace" = ${q.namespace} AND "destService" = ${q.service}
    AND "bucket" >= ${from} AND "bucket" < ${until} AND ${reporterFilter(q.namespace)} AND ${caller}`;

  const [counts, histograms] = await Promise.all([
    db.$queryRaw<{ k: string; at: number; code: number; protocol: string; requests: number }[]>`
      SELECT ${key} AS k, ${at} AS at, "statusCode" AS code, "protocol" AS protocol,
             SUM("requests")::float8 AS requests
      FROM "TelemetryRollup" WHERE ${where}
      GROUP BY 1, 2, 3, 4`,
    db.$queryRaw<{ k: string; at: number; i: number; n: number }[]>`
      SELECT ${key} AS k, ${at} AS at, b.i::int AS i, SUM(b.v)::float8 AS n
      FROM "TelemetryRollup", unnest("latencyBuckets") WITH ORDINALITY AS b(v, i)
      WHERE ${where} AND ${HTTP_ROW_SQL}
      GROUP BY 1, 2, 3`,
  ]);

  const series = new Map<string, Map<number, { requests: number; errors: number; histogram: number[] }>>();
  const cell = (k: string, atSeconds: number) => {
    let s = series.get(k);
    if (s === undefined) series.set(k, (s = new Map()));
    const t = atSeconds * 1000;
    let c = s.get(t);
    if (c === undefined)
      s.set(
        t,
        (c = { requests: 0, errors: 0, histogram: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0) }),
      );
    return c;
  };
  for (const r of counts) {
    const c = cell(r.k, r.at);
    c.requests += r.requests;
    if (isErrorOutcome(r.protocol, r.code)) c.errors += r.requests;
  }
  for (const h of histograms) {
    const c = cell(h.k, h.at);
    if (h.i >= 1 && h.i <= c.histogram.length) c.histogram[h.i - 1]! += h.n;
  }

  return {
    from: from.toISOString(),
    until: until.toISOString(),
    stepSeconds,
    series: [...series.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, cells]) => ({
        key: k,
        points: starts.map((t): SeriesPoint => {
          const c = cells.get(t);
          return {
            t: new Date(t).toISOString(),
            requests: c?.requests ?? 0,
            // The last step may be cut short by `until`: its rate is over the part that has passed.
            rps: (c?.requests ?? 0) / secondsOf(t),
            errorRate: c && c.requests > 0 ? c.errors / c.requests : 0,
            p50Ms: c ? quantile(c.histogram, 0.5) : null,
            p95Ms: c ? quantile(c.histogram, 0.95) : null,
            p99Ms: c ? quantile(c.histogram, 0.99) : null,
          };
        }),
      })),
  };
}

/** Sparklines are a few dozen pixels wide: fewer, coarser points than a chart. */
const SPARKLINE_POINTS = 60;

/**
 * Calls into each of many services over one window, per step: the services list's sparklines, in one grouped
 * query (not one per row). Every namespace asked about must be readable, as for serviceSeries.
 */
export async function serviceSparklines(db: Db, actor: Actor, query: SparklinesQuery): Promise<Sparklines> {
  const q = parseInput(ZSparklinesQuery, query);
  const wanted = [...new Set(q.services)].map((k) => k.split("/") as [string, string]);
  const namespaces = [...new Set(wanted.map(([ns]) => ns))];
  for (const ns of namespaces) requireRole(actor, "viewer", ns);
  const { until, from, stepSeconds, starts, secondsOf, at } = stepsOf(q.minutes, q.until, SPARKLINE_POINTS);

  // The namespace list lets PostgreSQL use the (destNamespace, bucket) index; the pairs pick the services.
  const rows = await db.$queryRaw<
    { ns: string; svc: string; at: number; requests: number; errors: number }[]
  >`
    SELECT "destNamespace" AS ns, "destService" AS svc, ${at} AS at,
           SUM("requests")::float8 AS requests,
           SUM(CASE WHEN ${ERROR_OUTCOME_SQL} THEN "requests" ELSE 0 END)::float8 AS errors
    FROM "TelemetryRollup"
    WHERE "destNamespace" IN (${Prisma.join(namespaces)})
      AND ("destNamespace", "destService") IN (${Prisma.join(wanted.map(([ns, svc]) => Prisma.sql`(${ns}, ${svc})`))})
      AND "bucket" >= ${from} AND "bucket" < ${until} AND ${REPORTER_FILTER}
    GROUP BY 1, 2, 3`;

  const cells = new Map<string, { requests: number; errors: number }>();
  for (const r of rows) cells.set(`${r.ns}/${r.svc}@${r.at * 1000}`, r);
  return {
    from: from.toISOString(),
    until: until.toISOString(),
    stepSeconds,
    items: wanted.map(([namespace, service]) => ({
      namespace,
      service,
      points: starts.map((t) => {
        const c = cells.get(`${namespace}/${service}@${t}`);
        const requests = c?.requests ?? 0;
        return {
          t: new Date(t).toISOString(),
          requests,
          rps: requests / secondsOf(t),
          errorRate: c && requests > 0 ? c.errors / requests : 0,
        };
      }),
    })),
  };
}

/**
 * The q-quantile of a histogram over LATENCY_BUCKETS_MS (plus an overflow slot), interpolating linearly
 * within the bucket it falls in, as Prometheus' histogram_quantile does. A quantile in the overflow slot is
 * reported as the last bound: "at least this slow".
 */
export function quantile(histogram: readonly number[], q: number): number | null {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    const n = histogram[i]!;
    if (n > 0 && seen + n >= rank) {
      if (i >= LATENCY_BUCKETS_MS.length) return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!;
      const lo = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!;
      const hi = LATENCY_BUCKETS_MS[i]!;
      return lo + (hi - lo) * ((rank - seen) / n);
    }
    seen += n;
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!;
}

interface EdgeKey {
  sn: string;
  ss: string;
  sv: string;
  dn: string;
  ds: string;
  dv: string;
}
const edgeKey = (r: EdgeKey) => `${r.sn}\u0000${r.ss}\u0000${r.sv}\u0000${r.dn}\u0000${r.ds}\u0000${r.dv}`;
interface CountRow extends EdgeKey {
  code: number;
  protocol: TrafficProtocol;
  requests: number;
  mtls: number;
}
interface HistogramRow extends EdgeKey {
  i: number;
  n: number;
}
interface TotalsRow extends EdgeKey, Record<(typeof SLOT_KEYS)[number], number> {
  protocol: TrafficProtocol;
  /** Per-minute rows summed in: the protocol shows on the edge when above 0. */
  n: number;
  requests: number;
  errors: number;
  mtls: number;
  http: number;
}
