"use client";
// The mesh at a glance: proxies connected and refusing config, change requests waiting, the last change that
// was applied and how far it reached, and the services failing most calls. Each part links to the page with
// the details; every number comes from the same procedures those pages read.
import { skipToken, useQuery } from "@tanstack/react-query";
import Link from "@/app/(console)/_components/link";
import { useMemo } from "react";
import { useTRPC } from "@/lib/trpc/client";
import { when } from "./_components/status";
import { formatPercent, formatRps } from "./_components/format";
import {
  CHANGE_LIMIT,
  OVERVIEW_INPUTS as IN,
  TRAFFIC_MINUTES,
  countOf,
  latestApplied,
  topByErrorRate,
} from "./overview-model";
import { serviceMetrics } from "./services/service-metrics";
import { ApiErrorAlert } from "./_components/api-error";

const LIVE = { refetchInterval: 5_000 } as const;

export function Overview() {
  const trpc = useTRPC();
  const services = useQuery(trpc.service.list.queryOptions(IN.services, LIVE));
  const proxies = useQuery(trpc.proxy.list.queryOptions(IN.proxies, LIVE));
  const open = useQuery(trpc.change.list.queryOptions(IN.open, LIVE));
  const stale = useQuery(trpc.change.list.queryOptions(IN.stale, LIVE));

  if (services.isPending) return <p className="muted">Loading…</p>;
  if (services.isError) return <ApiErrorAlert error={services.error} label="Could not load the mesh" />;

  const items = services.data.items;
  const proxyItems = proxies.data?.items;
  const connected = proxyItems?.filter((p) => p.status === "connected").length;
  // NACKing now: a disconnected proxy's last refusal is history (the Proxies page still lists it).
  const nacking = proxyItems?.filter((p) => p.status === "connected" && p.sync.state === "nacked").length;
  return (
    <>
      <section className="cards glance" aria-label="Mesh at a glance">
        <div className="card">
          <div className="value">{items.length}</div>
          <div className="label">
            <Link href="/services">Services</Link>
          </div>
        </div>
        <div className="card">
          <div className="value">{proxyItems ? `${connected}/${proxyItems.length}` : "…"}</div>
          <div className="label">Proxies connected</div>
        </div>
        <div className={`card${nacking ? " card-bad" : ""}`}>
          <div className="value">{nacking ?? "…"}</div>
          <div className="label">Proxies NACKing</div>
          <div className="label">
            {nacking ? (
              <Link href="/proxies?sync=nacked">Show the NACKed proxies</Link>
            ) : (
              <Link href="/proxies">Proxies</Link>
            )}
          </div>
        </div>
        <div className="card">
          <div className="value">{open.data ? countOf(open.data.items, CHANGE_LIMIT) : "…"}</div>
          <div className="label">
            <Link href="/changes">Open change requests</Link>
          </div>
        </div>
        <div className={`card${stale.data?.items.length ? " card-warn" : ""}`}>
          <div className="value">{stale.data ? countOf(stale.data.items, CHANGE_LIMIT) : "…"}</div>
          <div className="label">Stale change requests (need a rebase)</div>
        </div>
      </section>
      {(proxies.error ?? open.error ?? stale.error) && (
        <ApiErrorAlert error={proxies.error ?? open.error ?? stale.error} label="Could not load everything" />
      )}
      {items.length === 0 ? (
        <div className="empty">
          <h2>No services yet</h2>
          <p>
            Start a proxy beside a workload with <code>trellis proxy --control-plane …</code>, or run the demo
            mesh with <code>trellis up --demo</code>.
          </p>
        </div>
      ) : (
        <div className="overview-panels">
          <LatestChange />
          <ErrorRates services={items} />
        </div>
      )}
    </>
  );
}

/** The change applied last and its rollout (acked of the proxies it reached). */
function LatestChange() {
  const trpc = useTRPC();
  const applied = useQuery(trpc.change.list.queryOptions(IN.applied, LIVE));
  const latest = applied.data ? latestApplied(applied.data.items) : null;
  const rollout = useQuery(
    trpc.change.rollout.queryOptions(latest ? { id: latest.id } : skipToken, {
      refetchInterval: (q) => {
        const s = q.state.data?.state;
        return s === "waiting" || s === "in_progress" ? 1_500 : 10_000;
      },
    }),
  );
  const r = rollout.data;
  return (
    <section className="panel" aria-label="Latest applied change">
      <h2>Latest applied change</h2>
      {applied.isPending ? (
        <p className="muted">Loading…</p>
      ) : applied.isError ? (
        <ApiErrorAlert error={applied.error} label="Could not load changes" />
      ) : latest === null ? (
        <p className="muted">
          No change applied yet. <Link href="/changes">Change requests</Link>
        </p>
      ) : (
        <>
          <p>
            <Link href={`/changes/${latest.number}`}>
              #{latest.number} {latest.title}
            </Link>{" "}
            <span className="muted">
              by {latest.author}, applied {when(latest.appliedAt)}
            </span>
          </p>
          {rollout.isError ? (
            <ApiErrorAlert error={rollout.error} label="Could not load its rollout" />
          ) : !r ? (
            <p className="muted">Loading the rollout…</p>
          ) : (
            <p className={r.nacked > 0 ? "error" : undefined}>
              Rollout{r.generation !== null ? ` of generation ${r.generation}` : ""}:{" "}
              {r.total === 0 ? (
                "no proxy is affected."
              ) : (
                <>
                  <strong>
                    {r.acked}/{r.total} acked
                  </strong>
                  {r.nacked > 0 && `, ${r.nacked} refused it`}
                  {r.pending > 0 && `, ${r.pending} pending`}.
                </>
              )}
            </p>
          )}
        </>
      )}
    </section>
  );
}

/** The services failing the largest share of calls into them, from the telemetry the Services page reads. */
function ErrorRates({ services }: { services: Parameters<typeof serviceMetrics>[0] }) {
  const trpc = useTRPC();
  const traffic = useQuery(
    trpc.traffic.edges.queryOptions(IN.traffic, { ...LIVE, placeholderData: (prev) => prev }),
  );
  const top = useMemo(
    () => (traffic.data ? topByErrorRate(serviceMetrics(services, traffic.data.edges), 5) : null),
    [services, traffic.data],
  );
  return (
    <section className="panel" aria-label="Highest error rates">
      <h2>Highest error rates, last {TRAFFIC_MINUTES} minutes</h2>
      {traffic.isError ? (
        <ApiErrorAlert error={traffic.error} label="Could not load traffic" />
      ) : top === null ? (
        <p className="muted">Loading…</p>
      ) : top.length === 0 ? (
        <p className="muted">No calls recorded in the last {TRAFFIC_MINUTES} minutes.</p>
      ) : (
        <table aria-label="Services by error rate">
          <thead>
            <tr>
              <th scope="col">Service</th>
              <th scope="col">5xx</th>
              <th scope="col">Rate</th>
            </tr>
          </thead>
          <tbody>
            {top.map((s) => (
              <tr key={`${s.namespace}/${s.service}`}>
                <td>
                  <Link
                    href={`/services/${encodeURIComponent(s.namespace)}/${encodeURIComponent(s.service)}`}
                  >
                    {s.service}
                  </Link>{" "}
                  <span className="muted">in {s.namespace}</span>
                </td>
                <td className={s.errorRate >= 0.1 ? "error" : undefined}>{formatPercent(s.errorRate)}</td>
                <td>{formatRps(s.rps)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
