"use client";
// Every service with its golden metrics over a window, from the calls into it, and a sparkline of its rate
// (all rows' from one batched query); refreshed every 5 s, or a past window replayed.
import { useQuery } from "@tanstack/react-query";
import Link from "@/app/(console)/_components/link";
import { useMemo, useState } from "react";
import { useTRPC } from "@/lib/trpc/client";
import { TimeWindowFields, useTimeWindow } from "../_components/time-window";
import { formatMs, formatPercent, formatRps } from "../_components/format";
import { serviceMetrics } from "./service-metrics";
import { Sparkline } from "./sparkline";
import { ApiErrorAlert, apiError } from "../_components/api-error";

/** The most services one sparklines query takes (its schema's limit); rows beyond go without. */
const MAX_SPARKLINES = 500;

export function ServiceList() {
  const trpc = useTRPC();
  const [namespace, setNamespace] = useState("");
  const time = useTimeWindow();
  const services = useQuery(trpc.service.list.queryOptions({}, { refetchInterval: 5_000 }));
  const traffic = useQuery(
    trpc.traffic.edges.queryOptions(
      { ...(namespace ? { namespace } : {}), ...time.query, versions: "merged" },
      { refetchInterval: time.refetchInterval, placeholderData: (prev) => prev },
    ),
  );
  const namespaces = useMemo(
    () => [...new Set((services.data?.items ?? []).map((s) => s.namespace))].sort(),
    [services.data],
  );
  const rows = useMemo(
    () =>
      services.data && traffic.data
        ? serviceMetrics(services.data.items, traffic.data.edges).filter(
            (r) => (!namespace || r.namespace === namespace) && r.service !== "unknown",
          )
        : null,
    [services.data, traffic.data, namespace],
  );
  // Registered services only: their namespaces are readable (service.list says so), and a batch with one
  // unreadable namespace would be refused whole. Same services, same query key: React Query hashes the list.
  const keys = useMemo(
    () =>
      (rows ?? [])
        .filter((r) => r.registered)
        .slice(0, MAX_SPARKLINES)
        .map((r) => `${r.namespace}/${r.service}`),
    [rows],
  );
  const sparklines = useQuery(
    trpc.traffic.sparklines.queryOptions(
      { services: keys, ...time.query },
      { enabled: keys.length > 0, refetchInterval: time.refetchInterval, placeholderData: (prev) => prev },
    ),
  );
  const lines = useMemo(
    () =>
      new Map((sparklines.data?.items ?? []).map((i) => [`${i.namespace}/${i.service}`, i.points] as const)),
    [sparklines.data],
  );
  const error = services.error ?? traffic.error;
  return (
    <>
      <div className="filters">
        <label>
          Namespace
          <select value={namespace} onChange={(e) => setNamespace(e.target.value)}>
            <option value="">All namespaces</option>
            {namespaces.map((ns) => (
              <option key={ns} value={ns}>
                {ns}
              </option>
            ))}
          </select>
        </label>
        <TimeWindowFields value={time.value} onChange={time.setValue} />
      </div>
      {error ? (
        <ApiErrorAlert error={error} label="Could not load services" />
      ) : !rows ? (
        <p className="muted">Loading…</p>
      ) : rows.length === 0 ? (
        <div className="empty">
          <h2>No services{namespace ? ` in ${namespace}` : ""}</h2>
          <p>Services appear here as their proxies join the mesh.</p>
        </div>
      ) : (
        <table aria-label="Services">
          <thead>
            <tr>
              <th scope="col">Service</th>
              <th scope="col">Namespace</th>
              <th scope="col">Versions</th>
              <th scope="col">Proxies</th>
              <th scope="col">Rate</th>
              <th scope="col">Trend</th>
              <th scope="col">Success</th>
              <th scope="col" title="Slowest caller's quantile when several services call it">
                p50 / p95 / p99
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.namespace}/${r.service}`}>
                <td>
                  <Link
                    href={`/services/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.service)}`}
                  >
                    {r.service}
                  </Link>
                  {!r.registered && <span className="badge">not in the mesh</span>}
                </td>
                <td>{r.namespace}</td>
                <td>{r.versions.join(", ")}</td>
                <td>{r.registered ? `${r.healthyWorkloads}/${r.workloads}` : "–"}</td>
                <td>{formatRps(r.rps)}</td>
                <td>
                  {lines.has(`${r.namespace}/${r.service}`) ? (
                    <Sparkline points={lines.get(`${r.namespace}/${r.service}`)!} window={time.label} />
                  ) : (
                    <span
                      className="muted"
                      title={sparklines.error ? apiError(sparklines.error).message : undefined}
                    >
                      {sparklines.isError ? "unavailable" : "–"}
                    </span>
                  )}
                </td>
                <td className={r.successRate !== null && r.successRate < 0.9 ? "error" : undefined}>
                  {r.successRate === null ? "–" : formatPercent(r.successRate)}
                </td>
                <td>
                  {formatMs(r.p50Ms)} / {formatMs(r.p95Ms)} / {formatMs(r.p99Ms)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
