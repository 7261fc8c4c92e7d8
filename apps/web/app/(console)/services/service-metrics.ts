// Golden metrics of each service (rate, success, latency) from the edges into it. Pure, unit-tested.
import type { ObservedEdge, ServiceSummary } from "@trellis/contracts";

export interface ServiceMetrics {
  namespace: string;
  service: string;
  versions: string[];
  workloads: number;
  healthyWorkloads: number;
  registered: boolean;
  /** Inbound requests in the window and their rate. */
  requests: number;
  rps: number;
  /** Share of inbound requests not answered 5xx; null without requests. */
  successRate: number | null;
  /**
   * Latency quantiles of inbound requests. Quantiles of different callers cannot be merged exactly, so this
   * is the slowest caller's: exact with one caller, otherwise an upper bound of the service's own quantile
   * (a mixture's q-quantile never exceeds the largest of its parts').
   */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  callers: number;
}

const maxOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/** One row per registered service (idle ones too) and per service seen only as a destination. */
export function serviceMetrics(
  services: readonly ServiceSummary[],
  edges: readonly ObservedEdge[],
): ServiceMetrics[] {
  const rows = new Map<string, ServiceMetrics & { errors: number }>();
  const row = (namespace: string, service: string) => {
    const k = `${namespace}/${service}`;
    let r = rows.get(k);
    if (r === undefined) {
      r = {
        namespace,
        service,
        versions: [],
        workloads: 0,
        healthyWorkloads: 0,
        registered: false,
        requests: 0,
        rps: 0,
        successRate: null,
        p50Ms: null,
        p95Ms: null,
        p99Ms: null,
        callers: 0,
        errors: 0,
      };
      rows.set(k, r);
    }
    return r;
  };
  for (const s of services) {
    const r = row(s.namespace, s.name);
    r.registered = true;
    r.versions = s.versions;
    r.workloads = s.workloads;
    r.healthyWorkloads = s.healthyWorkloads;
  }
  for (const e of edges) {
    const r = row(e.destination.namespace, e.destination.service);
    r.requests += e.requests;
    r.rps += e.rps;
    r.errors += e.errorRate * e.requests;
    r.callers += 1;
    r.p50Ms = maxOf(r.p50Ms, e.p50Ms);
    r.p95Ms = maxOf(r.p95Ms, e.p95Ms);
    r.p99Ms = maxOf(r.p99Ms, e.p99Ms);
  }
  return [...rows.values()]
    .map(({ errors, ...r }) => ({ ...r, successRate: r.requests > 0 ? 1 - errors / r.requests : null }))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.service.localeCompare(b.service));
}

export type SeriesMetric = "rps" | "errorRate" | "p50Ms" | "p95Ms" | "p99Ms";

/**
 * Recharts wants one row per time step with a column per series: `{ t: "08:05", v1: 2.5, v2: 0.3 }`.
 * Missing latencies stay absent (a gap in the line), not 0 (which would draw a fake fast request).
 */
export function seriesRows(
  series: readonly {
    key: string;
    points: readonly ({ t: string } & Record<SeriesMetric, number | null>)[];
  }[],
  metric: SeriesMetric,
): Record<string, string | number>[] {
  const rows = new Map<string, Record<string, string | number>>();
  for (const s of series)
    for (const p of s.points) {
      let row = rows.get(p.t);
      if (row === undefined) rows.set(p.t, (row = { t: p.t.slice(11, 16) }));
      const v = p[metric];
      if (v !== null) row[s.key] = metric === "errorRate" ? v * 100 : v;
    }
  return [...rows.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, r]) => r);
}
