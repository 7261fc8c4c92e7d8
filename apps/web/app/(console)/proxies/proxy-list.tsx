"use client";
// Every registered proxy and whether it runs the config the control plane has for it, refreshed every 5 s.
// A proxy that refused its config (NACK) keeps serving its last good one: it is marked, and its reason is
// shown in full under it, since that text is what the operator needs to fix the change.
import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { PROXY_SYNC_STATES, type ProxySyncState } from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";
import {
  NO_FILTER,
  SYNC_LABEL,
  filterOptions,
  filterProxies,
  syncCounts,
  type ProxyFilter,
} from "./proxy-rows";
import { ProxyTable } from "./proxy-table";
import { ApiErrorAlert } from "../_components/api-error";

export function ProxyList({ initial }: { initial: ProxyFilter }) {
  const trpc = useTRPC();
  const [filter, setFilterState] = useState(initial);
  const list = useQuery(trpc.proxy.list.queryOptions({}, { refetchInterval: 5_000 }));
  const items = useMemo(() => list.data?.items ?? [], [list.data]);
  const options = useMemo(() => filterOptions(items, filter.namespace), [items, filter.namespace]);
  const shown = useMemo(() => filterProxies(items, filter), [items, filter]);
  const counts = useMemo(() => syncCounts(items), [items]);
  // Only a connected proxy keeps serving its last good config; a disconnected one's refusal is history.
  const refusing = useMemo(
    () => items.filter((p) => p.status === "connected" && p.sync.state === "nacked").length,
    [items],
  );

  // The query string follows the filters, so a filtered view can be linked to (the overview does).
  const setFilter = (f: ProxyFilter) => {
    setFilterState(f);
    const q = new URLSearchParams(Object.entries(f).filter(([, v]) => v !== "")).toString();
    window.history.replaceState(null, "", q ? `/proxies?${q}` : "/proxies");
  };
  const filtered = filter.namespace !== "" || filter.service !== "" || filter.sync !== "";

  return (
    <>
      <div className="filters">
        <label>
          Namespace
          <select
            value={filter.namespace}
            onChange={(e) => setFilter({ ...filter, namespace: e.target.value, service: "" })}
          >
            <option value="">All namespaces</option>
            {withSelected(options.namespaces, filter.namespace).map((ns) => (
              <option key={ns} value={ns}>
                {ns}
              </option>
            ))}
          </select>
        </label>
        <label>
          Service
          <select value={filter.service} onChange={(e) => setFilter({ ...filter, service: e.target.value })}>
            <option value="">All services</option>
            {withSelected(options.services, filter.service).map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Sync state
          <select
            value={filter.sync}
            onChange={(e) => setFilter({ ...filter, sync: e.target.value as ProxySyncState | "" })}
          >
            <option value="">Any</option>
            {PROXY_SYNC_STATES.map((s) => (
              <option key={s} value={s}>
                {SYNC_LABEL[s]}
              </option>
            ))}
          </select>
        </label>
        {filtered && (
          <button type="button" className="secondary filters-clear" onClick={() => setFilter(NO_FILTER)}>
            Clear filters
          </button>
        )}
      </div>
      {list.isPending ? (
        <p className="muted">Loading…</p>
      ) : list.isError ? (
        <ApiErrorAlert error={list.error} label="Could not load proxies" />
      ) : items.length === 0 ? (
        <div className="empty">
          <h2>No proxies yet</h2>
          <p>
            Proxies appear here as they join the mesh: create a join token under <em>Join tokens</em>, then
            run <code>trellis proxy --control-plane …</code> beside a workload.
          </p>
        </div>
      ) : (
        <>
          <Summary
            total={items.length}
            counts={counts}
            refusing={refusing}
            generation={list.data.generation}
            onlyNacked={() => setFilter({ ...NO_FILTER, sync: "nacked" })}
            showingNacked={filter.sync === "nacked"}
          />
          {shown.length === 0 ? (
            <div className="empty">
              <h2>No proxies match these filters</h2>
              <p>
                <button type="button" className="secondary" onClick={() => setFilter(NO_FILTER)}>
                  Clear filters
                </button>
              </p>
            </div>
          ) : (
            <ProxyTable label="Proxies" items={shown} />
          )}
        </>
      )}
    </>
  );
}

/** A value given in the query string stays selectable while (or if never) a proxy of it is listed. */
function withSelected(options: string[], selected: string): string[] {
  return selected && !options.includes(selected) ? [...options, selected].sort() : options;
}

function Summary(props: {
  total: number;
  counts: Record<ProxySyncState, number>;
  refusing: number;
  generation: number | null;
  onlyNacked: () => void;
  showingNacked: boolean;
}) {
  const { total, counts, refusing } = props;
  return (
    <div className="proxy-summary">
      <p role="status">
        {total === 1 ? "1 proxy" : `${total} proxies`}: {counts.in_sync} in sync, {counts.pending} pending,{" "}
        {counts.nacked} NACKed
        {props.generation !== null && (
          <span className="muted"> · newest config generation {props.generation}</span>
        )}
      </p>
      {refusing > 0 && (
        <p className="error proxy-alert">
          {refusing === 1
            ? "1 connected proxy refused its config and keeps serving its last good one."
            : `${refusing} connected proxies refused their config and keep serving their last good one.`}{" "}
          {!props.showingNacked && (
            <button type="button" className="secondary" onClick={props.onlyNacked}>
              Show only NACKed
            </button>
          )}
        </p>
      )}
    </div>
  );
}
