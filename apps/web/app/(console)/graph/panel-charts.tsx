"use client";
// The side panel's charts of one node or edge over the graph's window (the same end, so a replayed window
// charts the past too): its rate, its 5xx share, and its latency quantiles, from one series query.
import { useQuery } from "@tanstack/react-query";
import type { ServiceSeriesQuery } from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";
import { pointRows } from "../services/service-metrics";
import { formatMs, formatPercent, formatRps } from "../_components/format";
import { ApiErrorAlert } from "../_components/api-error";
import { TimeLines } from "../_components/time-lines";

const LATENCIES = [
  { key: "p50Ms", name: "p50", colour: "#2f6f4f" },
  { key: "p95Ms", name: "p95", colour: "#d97706" },
  { key: "p99Ms", name: "p99", colour: "#b42318" },
] as const;

function Chart({
  label,
  caption,
  rows,
  lines,
  unit,
}: {
  label: string;
  caption: string;
  rows: Record<string, string | number>[];
  lines: readonly { key: string; name: string; colour: string }[];
  unit: string;
}) {
  return (
    <figure className="panel-chart" aria-label={label}>
      <figcaption>
        {label} <span className="muted">· {caption}</span>
      </figcaption>
      <TimeLines
        rows={rows}
        lines={lines}
        unit={unit}
        height={96}
        compact
        title={`${label} over the window`}
        desc={caption}
      />
    </figure>
  );
}

/**
 * `query` asks for the calls into a service (optionally from one caller); `pick` is the series to draw: `*`
 * with `by: total`, or the version of a node split by version.
 */
export function PanelCharts({
  query,
  pick,
  protocol,
  live,
}: {
  query: ServiceSeriesQuery;
  pick: string;
  protocol: "http" | "tcp";
  live: boolean;
}) {
  const trpc = useTRPC();
  const series = useQuery(
    trpc.traffic.series.queryOptions(query, {
      refetchInterval: live ? 5_000 : false,
      placeholderData: (prev) => prev,
    }),
  );
  if (series.isError) return <ApiErrorAlert error={series.error} label="Could not load the charts" />;
  if (!series.data) return <p className="muted">Loading charts…</p>;
  const points = series.data.series.find((s) => s.key === pick)?.points ?? [];
  const calls = points.reduce((n, p) => n + p.requests, 0);
  if (calls === 0) return <p className="muted">No calls in this window to chart.</p>;
  const rows = pointRows(points);
  const peak = (f: (p: (typeof points)[number]) => number | null) =>
    points.reduce((m, p) => Math.max(m, f(p) ?? 0), 0);
  const step =
    series.data.stepSeconds >= 3600
      ? `${series.data.stepSeconds / 3600} h`
      : `${series.data.stepSeconds / 60} min`;
  return (
    <section className="panel-charts" aria-label="Charts over the window">
      <p className="muted">per {step} step</p>
      <Chart
        label="Requests per second"
        caption={`peak ${formatRps(peak((p) => p.rps))}`}
        rows={rows}
        lines={[{ key: "rps", name: "req/s", colour: "#1d4ed8" }]}
        unit="req/s"
      />
      {protocol === "http" && (
        <>
          <Chart
            label="5xx share"
            caption={`peak ${formatPercent(peak((p) => (p.requests > 0 ? p.errorRate : 0)))}`}
            rows={rows}
            lines={[{ key: "errorPct", name: "5xx", colour: "#b42318" }]}
            unit="%"
          />
          <Chart
            label="Latency p50 / p95 / p99"
            caption={`p99 peak ${formatMs(peak((p) => p.p99Ms))}`}
            rows={rows}
            lines={LATENCIES}
            unit="ms"
          />
        </>
      )}
    </section>
  );
}
