"use client";
// One service: its versions, the calls into it by version and by caller, the calls it makes, its status
// codes, the policies that apply, over a window (live or replayed), and its proxies (its endpoints) with their
// config sync state now; refreshed every 5 s.
import { useQuery } from "@tanstack/react-query";
import Link from "@/app/(console)/_components/link";
import { tracesHref } from "../../../traces/trace-links";
import type { ObservedEdge, ProxySummary } from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";
import { ProposeLink } from "../../../_components/propose-link";
import { resourceHref } from "../../../_components/resource-href";
import { TimeWindowFields, useTimeWindow } from "../../../_components/time-window";
import { formatMs, formatPercent, formatRps } from "../../../_components/format";
import { syncCounts } from "../../../proxies/proxy-rows";
import { ProxyTable } from "../../../proxies/proxy-table";
import { SeriesChart } from "./series-chart";
import { OPENING_WINDOW, serviceInputs } from "./service-inputs";
import { ApiErrorAlert } from "../../../_components/api-error";

function EdgeTable({
  label,
  edges,
  peer,
}: {
  label: string;
  edges: ObservedEdge[];
  peer: "source" | "destination";
}) {
  if (edges.length === 0) return <p className="muted">None in this window.</p>;
  return (
    <table aria-label={label}>
      <thead>
        <tr>
          <th scope="col">{peer === "source" ? "Caller" : "Callee"}</th>
          <th scope="col">{peer === "source" ? "Version called" : "Version calling"}</th>
          <th scope="col">Rate</th>
          <th scope="col">5xx</th>
          <th scope="col">p50 / p95 / p99</th>
          <th scope="col">mTLS</th>
        </tr>
      </thead>
      <tbody>
        {edges.map((e) => {
          const other = e[peer];
          const own = peer === "source" ? e.destination : e.source;
          return (
            <tr
              key={`${e.source.namespace}/${e.source.service}/${e.source.version}>${e.destination.namespace}/${e.destination.service}/${e.destination.version}`}
            >
              <td>
                {other.namespace}/{other.service} <span className="muted">{other.version}</span>
              </td>
              <td>{own.version}</td>
              <td>{formatRps(e.rps)}</td>
              <td className={e.errorRate > 0.1 ? "error" : undefined}>{formatPercent(e.errorRate)}</td>
              <td>
                {formatMs(e.p50Ms)} / {formatMs(e.p95Ms)} / {formatMs(e.p99Ms)}
              </td>
              <td>{formatPercent(e.mtlsShare)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

const serviceHref = (namespace: string, service: string) =>
  `/services/${encodeURIComponent(namespace)}/${encodeURIComponent(service)}`;

function proxySummary(items: readonly ProxySummary[]): string {
  const n = syncCounts(items);
  const connected = items.filter((p) => p.status === "connected").length;
  return `${items.length === 1 ? "1 proxy" : `${items.length} proxies`}, ${connected} connected: ${n.in_sync} in sync, ${n.pending} pending, ${n.nacked} NACKed`;
}

export function ServiceDetail({ namespace, service }: { namespace: string; service: string }) {
  const trpc = useTRPC();
  const time = useTimeWindow(OPENING_WINDOW.minutes);
  const inputs = serviceInputs(namespace, service, time.query);
  const services = useQuery(trpc.service.list.queryOptions(inputs.services, { refetchInterval: 5_000 }));
  const traffic = useQuery(
    trpc.traffic.edges.queryOptions(inputs.traffic, {
      refetchInterval: time.refetchInterval,
      placeholderData: (prev) => prev,
    }),
  );
  const resources = useQuery(trpc.resource.list.queryOptions(inputs.resources));
  const proxies = useQuery(trpc.proxy.list.queryOptions(inputs.proxies, { refetchInterval: 5_000 }));
  const summary = services.data?.items.find((s) => s.name === service);
  const inbound = (traffic.data?.edges ?? []).filter(
    (e) => e.destination.namespace === namespace && e.destination.service === service,
  );
  const outbound = (traffic.data?.edges ?? []).filter(
    (e) => e.source.namespace === namespace && e.source.service === service,
  );
  const codes = new Map<string, number>();
  for (const e of inbound)
    for (const [c, n] of Object.entries(e.codes)) codes.set(c, (codes.get(c) ?? 0) + n);
  const codesTotal = [...codes.values()].reduce((a, b) => a + b, 0);
  const byVersion = new Map<string, { requests: number; rps: number; errors: number }>();
  for (const e of inbound) {
    const v = byVersion.get(e.destination.version) ?? { requests: 0, rps: 0, errors: 0 };
    v.requests += e.requests;
    v.rps += e.rps;
    v.errors += e.errorRate * e.requests;
    byVersion.set(e.destination.version, v);
  }
  const policies = (resources.data?.items ?? []).filter((r) => r.spec.service === service);
  const error = services.error ?? traffic.error;
  const propose = `/changes/new?${new URLSearchParams({ template: "Route", namespace, service }).toString()}`;

  return (
    <>
      <div className="title-row">
        <h1>
          {service} <span className="muted">in {namespace}</span>
        </h1>
        <div className="buttons">
          <Link className="button secondary" href={`/graph?namespace=${encodeURIComponent(namespace)}`}>
            Graph
          </Link>
          <Link className="button secondary" href={tracesHref({ namespace, service, order: "slowest" })}>
            Slowest traces
          </Link>
          <Link className="button secondary" href={tracesHref({ namespace, service, status: "error" })}>
            Failed traces
          </Link>
          <Link className="button secondary" href={`${serviceHref(namespace, service)}/restrict`}>
            Restrict callers to what was observed
          </Link>
          <ProposeLink namespace={namespace} href={propose}>
            Propose a change
          </ProposeLink>
        </div>
      </div>
      <div className="filters">
        <TimeWindowFields value={time.value} onChange={time.setValue} />
      </div>
      {error && <ApiErrorAlert error={error} label="Could not load the service" />}
      <section className="cards" aria-label="Service at a glance">
        <div className="card">
          <div className="value">{summary ? summary.versions.join(", ") || "–" : "–"}</div>
          <div className="label">Versions</div>
        </div>
        <div className="card">
          <div className="value">{summary ? `${summary.healthyWorkloads}/${summary.workloads}` : "–"}</div>
          <div className="label">Proxies connected</div>
        </div>
        <div className="card">
          <div className="value">{summary?.vip ?? "–"}</div>
          <div className="label">Virtual IP</div>
        </div>
        <div className="card">
          <div className="value">{formatRps(inbound.reduce((s, e) => s + e.rps, 0))}</div>
          <div className="label">Inbound</div>
        </div>
      </section>
      <SeriesChart
        namespace={namespace}
        service={service}
        range={time.query}
        refetchInterval={time.refetchInterval}
      />
      <section className="panel">
        <h2>By version</h2>
        {byVersion.size === 0 ? (
          <p className="muted">No calls in this window.</p>
        ) : (
          <table aria-label="Inbound by version">
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Rate</th>
                <th scope="col">Requests</th>
                <th scope="col">Success</th>
              </tr>
            </thead>
            <tbody>
              {[...byVersion.entries()]
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([v, s]) => (
                  <tr key={v}>
                    <td>{v}</td>
                    <td>{formatRps(s.rps)}</td>
                    <td>{Math.round(s.requests)}</td>
                    <td>{formatPercent(s.requests > 0 ? 1 - s.errors / s.requests : 0)}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="panel">
        <h2>Callers</h2>
        <EdgeTable label="Callers" edges={inbound} peer="source" />
      </section>
      <section className="panel">
        <h2>Calls it makes</h2>
        <EdgeTable label="Calls it makes" edges={outbound} peer="destination" />
      </section>
      <section className="panel">
        <h2>Status codes</h2>
        {codes.size === 0 ? (
          <p className="muted">No calls in this window.</p>
        ) : (
          <table aria-label="Status codes">
            <thead>
              <tr>
                <th scope="col">Code</th>
                <th scope="col">Requests</th>
                <th scope="col">Share</th>
              </tr>
            </thead>
            <tbody>
              {[...codes.entries()]
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([c, n]) => (
                  <tr key={c} className={Number(c) >= 500 ? "error" : undefined}>
                    <td>{c === "0" ? "TCP connection" : c}</td>
                    <td>{Math.round(n)}</td>
                    <td>{formatPercent(n / codesTotal)}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="panel" aria-label="Proxies">
        <h2>Proxies</h2>
        <p className="muted">
          Each proxy is one endpoint of the service: where it listens, whether it is connected, and whether it
          runs the config the control plane has for it.
        </p>
        {proxies.isError ? (
          <ApiErrorAlert error={proxies.error} label="Could not load the proxies" />
        ) : !proxies.data ? (
          <p className="muted">Loading…</p>
        ) : proxies.data.items.length === 0 ? (
          <p className="muted">No proxy has joined the mesh as {service}.</p>
        ) : (
          <>
            <p role="status">
              {proxySummary(proxies.data.items)}{" "}
              <Link
                href={`/proxies?${new URLSearchParams({ namespace, service }).toString()}`}
                className="muted"
              >
                all proxies
              </Link>
            </p>
            <ProxyTable label="Proxies of the service" items={proxies.data.items} showService={false} />
          </>
        )}
      </section>
      <section className="panel">
        <h2>Policies</h2>
        {policies.length === 0 ? (
          <p className="muted">No Route, AccessPolicy or DestinationPolicy applies.</p>
        ) : (
          <ul>
            {policies.map((p) => (
              <li key={`${p.kind}/${p.name}`}>
                <Link href={resourceHref(p)}>
                  {p.kind} {p.name}
                </Link>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
