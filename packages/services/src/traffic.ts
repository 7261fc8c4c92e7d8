// Observed traffic between services, read from the per-minute telemetry rollups. Two grouped queries over the
// (namespace, bucket) indexes, whatever the window: one for counts by status code, one for the latency
// histogram, summed in PostgreSQL so a 24-hour window moves as few rows as a 1-minute one.
import {
  LATENCY_BUCKETS_MS,
  ZTrafficQuery,
  type ObservedEdge,
  type ObservedTraffic,
  type TrafficQuery,
} from "@trellis/contracts";
import { Prisma, type Db } from "@trellis/db";
import { readableNamespaces, requireRole, type Actor } from "./actor.js";

const MINUTE = 60_000;

/**
 * Each call is reported by both sidecars. The caller's view (outbound) is the one users feel, so edges use it;
 * callers without a sidecar only show up in the callee's inbound reports (source "unknown"), so those count too.
 */
const REPORTER_FILTER = Prisma.sql`("reporter" = 'outbound' OR ("reporter" = 'inbound' AND "sourceService" = 'unknown'))`;

/** The edges (caller → callee) seen in a window, with rates, error share, latency quantiles and mTLS share. */
export async function queryTraffic(db: Db, actor: Actor, query: TrafficQuery): Promise<ObservedTraffic> {
  const q = ZTrafficQuery.parse(query);
  let scope: Prisma.Sql;
  if (q.namespace !== undefined) {
    requireRole(actor, "viewer", q.namespace);
    scope = Prisma.sql`("sourceNamespace" = ${q.namespace} OR "destNamespace" = ${q.namespace})`;
  } else {
    const readable = readableNamespaces(actor);
    if (readable === "all") scope = Prisma.sql`TRUE`;
    else if (readable.length === 0) {
      requireRole(actor, "viewer");
      scope = Prisma.sql`FALSE`;
    } else {
      scope = Prisma.sql`("sourceNamespace" IN (${Prisma.join(readable)}) OR "destNamespace" IN (${Prisma.join(readable)}))`;
    }
  }
  const until = q.until ? new Date(q.until) : new Date();
  // Whole minutes: the first bucket starts at or before the window's start, the last may be the current one.
  const from = new Date(Math.floor((until.getTime() - q.minutes * MINUTE) / MINUTE) * MINUTE);
  const seconds = Math.max(1, (until.getTime() - from.getTime()) / 1000);
  const sv = q.versions === "split" ? Prisma.sql`"sourceVersion"` : Prisma.sql`'*'`;
  const dv = q.versions === "split" ? Prisma.sql`"destVersion"` : Prisma.sql`'*'`;
  const where = Prisma.sql`"bucket" >= ${from} AND "bucket" < ${until} AND ${REPORTER_FILTER} AND ${scope}`;

  const [counts, histograms] = await Promise.all([
    db.$queryRaw<CountRow[]>`
      SELECT "sourceNamespace" AS sn, "sourceService" AS ss, ${sv} AS sv,
             "destNamespace" AS dn, "destService" AS ds, ${dv} AS dv, "statusCode" AS code,
             SUM("requests")::float8 AS requests, SUM("mtlsRequests")::float8 AS mtls
      FROM "TelemetryRollup" WHERE ${where}
      GROUP BY 1, 2, 3, 4, 5, 6, 7`,
    db.$queryRaw<HistogramRow[]>`
      SELECT "sourceNamespace" AS sn, "sourceService" AS ss, ${sv} AS sv,
             "destNamespace" AS dn, "destService" AS ds, ${dv} AS dv,
             b.i::int AS i, SUM(b.v)::float8 AS n
      FROM "TelemetryRollup", unnest("latencyBuckets") WITH ORDINALITY AS b(v, i)
      WHERE ${where} AND "statusCode" <> 0
      GROUP BY 1, 2, 3, 4, 5, 6, 7`,
  ]);

  const edges = new Map<string, ObservedEdge & { errors: number; mtls: number; histogram: number[] }>();
  const key = (r: EdgeKey) => `${r.sn}\u0000${r.ss}\u0000${r.sv}\u0000${r.dn}\u0000${r.ds}\u0000${r.dv}`;
  for (const r of counts) {
    const k = key(r);
    let e = edges.get(k);
    if (e === undefined) {
      e = {
        source: { namespace: r.sn, service: r.ss, version: r.sv },
        destination: { namespace: r.dn, service: r.ds, version: r.dv },
        requests: 0,
        rps: 0,
        errorRate: 0,
        p50Ms: null,
        p95Ms: null,
        p99Ms: null,
        mtlsShare: 0,
        protocol: "tcp",
        codes: {},
        errors: 0,
        mtls: 0,
        histogram: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0),
      };
      edges.set(k, e);
    }
    e.requests += r.requests;
    e.mtls += r.mtls;
    e.codes[String(r.code)] = (e.codes[String(r.code)] ?? 0) + r.requests;
    if (r.code !== 0) e.protocol = "http";
    if (r.code >= 500) e.errors += r.requests;
  }
  for (const h of histograms) {
    const e = edges.get(key(h));
    if (e !== undefined && h.i >= 1 && h.i <= e.histogram.length) e.histogram[h.i - 1]! += h.n;
  }

  const out: ObservedEdge[] = [];
  for (const { errors, mtls, histogram, ...e } of edges.values()) {
    e.rps = e.requests / seconds;
    e.errorRate = e.requests > 0 ? errors / e.requests : 0;
    e.mtlsShare = e.requests > 0 ? Math.min(1, mtls / e.requests) : 0;
    e.p50Ms = quantile(histogram, 0.5);
    e.p95Ms = quantile(histogram, 0.95);
    e.p99Ms = quantile(histogram, 0.99);
    out.push(e);
  }
  out.sort((a, b) => b.requests - a.requests);
  return { from: from.toISOString(), until: until.toISOString(), edges: out };
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
interface CountRow extends EdgeKey {
  code: number;
  requests: number;
  mtls: number;
}
interface HistogramRow extends EdgeKey {
  i: number;
  n: number;
}
