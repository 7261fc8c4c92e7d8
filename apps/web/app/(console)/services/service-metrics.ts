// Golden metrics of each service (rate, success, latency) from the edges into it. Pure, unit-tested.
import type { ObservedEdge, SeriesPoint, ServiceSummary, SparklinePoint } from "@trellis/contracts";

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

/**
 * One series as Recharts rows with a column per metric, for charts that draw several metrics of one thing
 * (the graph's side panel): `{ t: "08:05", rps: 2.5, errorPct: 0, p50Ms: 4.1, … }`. Latencies of a step
 * without calls stay absent, a gap rather than a fake 0 ms.
 */
export function pointRows(points: readonly SeriesPoint[]): Record<string, string | number>[] {
  return points.map((p) => {
    const row: Record<string, string | number> = {
      t: p.t.slice(11, 16),
      rps: p.rps,
      errorPct: p.errorRate * 100,
    };
    if (p.p50Ms !== null) row.p50Ms = p.p50Ms;
    if (p.p95Ms !== null) row.p95Ms = p.p95Ms;
    if (p.p99Ms !== null) row.p99Ms = p.p99Ms;
    return row;
  });
}

export interface SparklineShape {
  /** SVG polyline points of the rate, and of the 5xx rate on the same scale (the failing part of it). */
  rps: string;
  errors: string;
  peakRps: number;
  /** Highest 5xx share of a step with calls (0..1). */
  peakErrorRate: number;
}

/**
 * A sparkline's lines in a `width` × `height` box, scaled to the busiest step; a single step (a 1-minute
 * window) is drawn across the box. A 1-px margin keeps the stroke inside at 0 and at the peak.
 */
export function sparklineShape(
  points: readonly SparklinePoint[],
  width: number,
  height: number,
): SparklineShape {
  const peakRps = points.reduce((m, p) => Math.max(m, p.rps), 0);
  const peakErrorRate = points.reduce((m, p) => Math.max(m, p.requests > 0 ? p.errorRate : 0), 0);
  const scale = peakRps > 0 ? peakRps : 1;
  const y = (v: number) => Number((height - 1 - (v / scale) * (height - 2)).toFixed(1));
  const xs =
    points.length === 1 ? [0] : points.map((_, i) => Number(((i / (points.length - 1)) * width).toFixed(1)));
  const line = (v: (p: SparklinePoint) => number) => {
    const coords = points.map((p, i) => `${xs[i]},${y(v(p))}`);
    if (points.length === 1) coords.push(`${width},${y(v(points[0]!))}`);
    return coords.join(" ");
  };
  return {
    rps: line((p) => p.rps),
    errors: line((p) => p.rps * p.errorRate),
    peakRps,
    peakErrorRate,
  };
}
