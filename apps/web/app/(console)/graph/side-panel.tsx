"use client";
// What the graph knows about one node or edge: its numbers in the window, charts of its rate, 5xx share and
// latency over the window, the policies that apply (each a link to the resource) and a prefilled change
// request for the service.
import dynamic from "next/dynamic";
import Link from "@/app/(console)/_components/link";
import { useEffect, useRef, type ReactNode } from "react";
import { ProposeLink } from "../_components/propose-link";
import { tracesHref } from "../traces/trace-links";
import { resourceHref } from "../_components/resource-href";
import { formatMs, formatPercent, formatRps } from "../_components/format";
import type { GraphModel, PolicyRef } from "./graph-model";
import { serviceName, type Selection } from "./graph-parts";

/** Recharts and the series query load when a panel first opens, not with the graph (decision 021). */
const PanelCharts = dynamic(() => import("./panel-charts").then((m) => m.PanelCharts), {
  ssr: false,
  loading: () => <p className="muted">Loading charts…</p>,
});

/** The graph's window, which the charts cover too. `until` is absent for a live window. */
export interface PanelWindow {
  minutes: number;
  until?: string;
}

function proposeHref(namespace: string, service: string): string {
  const q = new URLSearchParams({ template: "Route", namespace, service });
  return `/changes/new?${q.toString()}`;
}

function Policies({ policies }: { policies: PolicyRef[] }) {
  if (policies.length === 0)
    return <p className="muted">No Route, AccessPolicy or DestinationPolicy applies.</p>;
  return (
    <ul className="graph-policies">
      {policies.map((p) => (
        <li key={`${p.kind}/${p.namespace}/${p.name}`}>
          <Link href={resourceHref(p)}>
            {p.kind} {p.name}
          </Link>
        </li>
      ))}
    </ul>
  );
}

function Numbers({ rows }: { rows: [string, string][] }) {
  return (
    <dl className="graph-numbers">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/**
 * The panel's box. It takes focus when it opens or shows another node or edge, so keyboard and screen reader
 * users land in it (Escape closes it: graph-view.tsx).
 */
function Panel({ label, shows, children }: { label: string; shows: string; children: ReactNode }) {
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, [shows]);
  return (
    <aside className="graph-panel" aria-label={label} tabIndex={-1} ref={ref}>
      {children}
    </aside>
  );
}

export function SidePanel({
  selection,
  model,
  range,
  onClose,
}: {
  selection: NonNullable<Selection>;
  model: GraphModel;
  range: PanelWindow;
  onClose: () => void;
}) {
  const live = range.until === undefined;
  const span = { minutes: range.minutes, ...(range.until ? { until: range.until } : {}) };
  const close = (
    <button type="button" className="secondary graph-close" onClick={onClose} aria-label="Close details">
      ×
    </button>
  );
  if (selection.kind === "node") {
    const n = model.nodes.find((x) => x.id === selection.id);
    if (!n)
      return (
        <Panel label="Details" shows={selection.id}>
          {close}
          <p className="muted">{selection.id} is no longer in the graph.</p>
        </Panel>
      );
    const inbound = model.edges.filter((x) => x.target === n.id);
    return (
      <Panel label={`Service ${serviceName(n)}`} shows={selection.id}>
        {close}
        <h2>{serviceName(n)}</h2>
        <p className="muted">
          namespace {n.namespace}
          {!n.registered && " · not registered in the mesh (seen only in telemetry)"}
        </p>
        <Numbers
          rows={[
            ["Inbound", formatRps(n.rps)],
            ["Requests", String(n.requests)],
            ["Success", n.requests > 0 ? formatPercent(1 - n.errorRate) : "–"],
            ["5xx", formatPercent(n.errorRate)],
            ["Sent", String(n.sent)],
            ["Health", n.health],
          ]}
        />
        {n.badges.length > 0 && (
          <ul className="graph-badge-list">
            {n.badges.map((b) => (
              <li key={b.kind}>{b.detail}</li>
            ))}
          </ul>
        )}
        <h3>Calls into it</h3>
        <PanelCharts
          query={{
            namespace: n.namespace,
            service: n.service,
            ...span,
            by: n.version === "*" ? "total" : "version",
          }}
          pick={n.version}
          protocol={inbound.length > 0 && inbound.every((x) => x.protocol === "tcp") ? "tcp" : "http"}
          live={live}
        />
        <h3>Policies</h3>
        <Policies policies={n.policies} />
        <div className="buttons">
          {n.registered && (
            <ProposeLink namespace={n.namespace} href={proposeHref(n.namespace, n.service)}>
              Propose a change
            </ProposeLink>
          )}
          <Link
            className="button secondary"
            href={`/services/${encodeURIComponent(n.namespace)}/${encodeURIComponent(n.service)}`}
          >
            Service page
          </Link>
          {n.registered && (
            <Link
              className="button secondary"
              href={`/services/${encodeURIComponent(n.namespace)}/${encodeURIComponent(n.service)}/restrict`}
            >
              Restrict callers to what was observed
            </Link>
          )}
        </div>
      </Panel>
    );
  }
  const e = model.edges.find((x) => x.id === selection.id);
  if (!e)
    return (
      <Panel label="Details" shows={selection.id}>
        {close}
        <p className="muted">This call is no longer in the graph.</p>
      </Panel>
    );
  const source = model.nodes.find((x) => x.id === e.source);
  const target = model.nodes.find((x) => x.id === e.target);
  const codes = Object.entries(e.codes).sort(([a], [b]) => a.localeCompare(b));
  return (
    <Panel label={`Calls from ${e.source} to ${e.target}`} shows={selection.id}>
      {close}
      <h2>
        {e.source} → {e.target}
      </h2>
      <Numbers
        rows={[
          ["Rate", formatRps(e.rps)],
          ["Requests", String(e.requests)],
          ["5xx", formatPercent(e.errorRate)],
          ["p50", formatMs(e.p50Ms)],
          ["p95", formatMs(e.p95Ms)],
          ["p99", formatMs(e.p99Ms)],
          ["mTLS", formatPercent(e.mtlsShare)],
          ["Share of caller's calls", formatPercent(e.share)],
          ["Protocol", e.protocolLabel],
          ...(e.access ? [["Access policy", e.access] as [string, string]] : []),
        ]}
      />
      {source && target && (
        <>
          <h3>Over the window</h3>
          <PanelCharts
            query={{
              namespace: target.namespace,
              service: target.service,
              ...span,
              caller: `${source.namespace}/${source.service}`,
              ...(source.version === "*" ? {} : { callerVersion: source.version }),
              by: target.version === "*" ? "total" : "version",
            }}
            pick={target.version}
            protocol={e.protocol}
            live={live}
          />
        </>
      )}
      {e.protocol === "http" && codes.length > 0 && (
        <>
          <h3>Status codes</h3>
          <Numbers rows={codes.map(([c, n]) => [c, String(n)])} />
        </>
      )}
      {source && target && (
        <p>
          <Link
            href={tracesHref({
              namespace: source.namespace,
              service: source.service,
              peerNamespace: target.namespace,
              peerService: target.service,
              order: "slowest",
            })}
          >
            Slowest traces of these calls
          </Link>
          {" · "}
          <Link
            href={tracesHref({
              namespace: source.namespace,
              service: source.service,
              peerNamespace: target.namespace,
              peerService: target.service,
              status: "error",
            })}
          >
            Failed ones
          </Link>
        </p>
      )}
      <h3>Policies of {target ? serviceName(target) : e.target}</h3>
      <Policies policies={e.policies} />
      {target?.registered && (
        <div className="buttons">
          <ProposeLink namespace={target.namespace} href={proposeHref(target.namespace, target.service)}>
            Propose a change
          </ProposeLink>
        </div>
      )}
    </Panel>
  );
}
