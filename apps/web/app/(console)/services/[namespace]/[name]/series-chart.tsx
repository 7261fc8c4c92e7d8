"use client";
// Calls into the service over time, one line per version or per caller, over the page's window.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import dynamic from "next/dynamic";
import { useTRPC } from "@/lib/trpc/client";
import { seriesRows, type SeriesMetric } from "../../service-metrics";
import { ApiErrorAlert } from "../../../_components/api-error";
import { serviceInputs, type SeriesBy } from "./service-inputs";

const METRICS: { value: SeriesMetric; label: string; unit: string }[] = [
  { value: "rps", label: "Requests/s", unit: "req/s" },
  { value: "errorRate", label: "Error %", unit: "%" },
  { value: "p50Ms", label: "p50 latency", unit: "ms" },
  { value: "p95Ms", label: "p95 latency", unit: "ms" },
  { value: "p99Ms", label: "p99 latency", unit: "ms" },
];

/** The chart itself (Recharts) loads in a chunk of its own while the series query runs: not with the page. */
const SeriesLines = dynamic(() => import("./series-lines").then((m) => m.SeriesLines), {
  ssr: false,
  // The chart's size, so that nothing below it moves when it draws.
  loading: () => <div style={{ width: "100%", height: 260 }} />,
});

export function SeriesChart({
  namespace,
  service,
  range,
  refetchInterval,
}: {
  namespace: string;
  service: string;
  /** The page's window; `until` only when replaying. */
  range: { minutes: number; until?: string };
  refetchInterval: number | false;
}) {
  const trpc = useTRPC();
  const [by, setBy] = useState<SeriesBy>("version");
  const [metric, setMetric] = useState<SeriesMetric>("rps");
  const series = useQuery(
    trpc.traffic.series.queryOptions(serviceInputs(namespace, service, range).series(by), {
      refetchInterval,
      placeholderData: (prev) => prev,
    }),
  );
  const unit = METRICS.find((m) => m.value === metric)!.unit;
  const rows = series.data ? seriesRows(series.data.series, metric) : [];
  return (
    <section className="panel" aria-label="Over time">
      <h2>Over time</h2>
      <div className="filters">
        <label>
          Lines
          <select value={by} onChange={(e) => setBy(e.target.value as SeriesBy)}>
            <option value="version">By version</option>
            <option value="caller">By caller</option>
          </select>
        </label>
        <label>
          Metric
          <select value={metric} onChange={(e) => setMetric(e.target.value as SeriesMetric)}>
            {METRICS.map((m) => (
              <option key={m.value} value={m.value}>
                {m.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {series.isError ? (
        <ApiErrorAlert error={series.error} label="Could not load the series" />
      ) : !series.data ? (
        <p className="muted">Loading…</p>
      ) : series.data.series.length === 0 ? (
        <p className="muted">No calls in this window.</p>
      ) : (
        <SeriesLines rows={rows} keys={series.data.series.map((x) => x.key)} unit={unit} />
      )}
    </section>
  );
}
