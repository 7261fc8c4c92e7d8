"use client";
// Sampled traces from the mesh's trace store, newest (or slowest) first, filtered by namespace, service, the
// peer it called or was called by, status, minimum duration and a window back from now. The filters are the
// URL's query, so links from the graph and the service pages land on a search, and a search can be shared.
import { useQuery } from "@tanstack/react-query";
import Link from "@/app/(console)/_components/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useMemo } from "react";
import { useTRPC } from "@/lib/trpc/client";
import { ApiErrorAlert } from "../_components/api-error";
import { formatDuration } from "./waterfall-model";
import { traceHref, tracesHref, type TraceSearch } from "./trace-links";

const WINDOWS = [
  { minutes: 15, label: "15 minutes" },
  { minutes: 60, label: "1 hour" },
  { minutes: 360, label: "6 hours" },
  { minutes: 1440, label: "24 hours" },
];

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The search in the URL, each field checked (a hand-edited URL is a search for nothing, not an error). */
function readSearch(q: URLSearchParams): TraceSearch {
  const name = (k: string) => {
    const v = q.get(k) ?? "";
    return NAME.test(v) ? v : undefined;
  };
  const status = q.get("status");
  const min = Number(q.get("minDurationMs"));
  const window = Number(q.get("window"));
  return {
    namespace: name("namespace"),
    service: name("service"),
    peerNamespace: name("peerNamespace"),
    peerService: name("peerService"),
    status: status === "ok" || status === "error" ? status : undefined,
    order: q.get("order") === "slowest" ? "slowest" : "newest",
    minDurationMs: Number.isFinite(min) && min > 0 ? min : undefined,
    window: WINDOWS.some((w) => w.minutes === window) ? window : 60,
  };
}

export function TraceList() {
  const trpc = useTRPC();
  const router = useRouter();
  const params = useSearchParams();
  const search = useMemo(() => readSearch(new URLSearchParams(params.toString())), [params]);
  const set = (change: Partial<TraceSearch>) =>
    router.replace(tracesHref({ ...search, ...change }), { scroll: false });
  const services = useQuery(trpc.service.list.queryOptions({}));
  const namespaces = [...new Set((services.data?.items ?? []).map((s) => s.namespace))].sort();
  const names = (services.data?.items ?? [])
    .filter((s) => !search.namespace || s.namespace === search.namespace)
    .map((s) => s.name);
  const input = {
    ...(search.namespace ? { namespace: search.namespace } : {}),
    ...(search.service ? { service: search.service } : {}),
    ...(search.peerService
      ? {
          peerService: search.peerService,
          ...(search.peerNamespace ? { peerNamespace: search.peerNamespace } : {}),
        }
      : {}),
    ...(search.status ? { status: search.status } : {}),
    ...(search.minDurationMs ? { minDurationMs: search.minDurationMs } : {}),
    order: search.order ?? "newest",
    // A window back from now, recomputed at each refresh: the since of the query key is the minute's.
    since: new Date(Math.floor(Date.now() / 60_000) * 60_000 - (search.window ?? 60) * 60_000).toISOString(),
    limit: 100,
  };
  const traces = useQuery(
    trpc.trace.list.queryOptions(input, { refetchInterval: 10_000, placeholderData: (prev) => prev }),
  );
  const items = traces.data?.items;
  return (
    <>
      <div className="filters" role="search" aria-label="Find traces">
        <label>
          Namespace
          <select
            value={search.namespace ?? ""}
            onChange={(e) => set({ namespace: e.target.value || undefined, service: undefined })}
          >
            <option value="">All namespaces</option>
            {namespaces.map((ns) => (
              <option key={ns}>{ns}</option>
            ))}
          </select>
        </label>
        <label>
          Service
          <select
            value={search.service ?? ""}
            onChange={(e) => set({ service: e.target.value || undefined })}
          >
            <option value="">All services</option>
            {[...new Set(names)].sort().map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select
            value={search.status ?? ""}
            onChange={(e) => set({ status: (e.target.value || undefined) as TraceSearch["status"] })}
          >
            <option value="">Any</option>
            <option value="error">Failed</option>
            <option value="ok">Succeeded</option>
          </select>
        </label>
        <label>
          At least (ms)
          <input
            type="number"
            min={0}
            step={1}
            inputMode="numeric"
            value={search.minDurationMs ?? ""}
            onChange={(e) => set({ minDurationMs: Number(e.target.value) || undefined })}
            style={{ width: "7em" }}
          />
        </label>
        <label>
          Window
          <select value={search.window} onChange={(e) => set({ window: Number(e.target.value) })}>
            {WINDOWS.map((w) => (
              <option key={w.minutes} value={w.minutes}>
                Last {w.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Order
          <select
            value={search.order}
            onChange={(e) => set({ order: e.target.value === "slowest" ? "slowest" : "newest" })}
          >
            <option value="newest">Newest first</option>
            <option value="slowest">Slowest first</option>
          </select>
        </label>
      </div>
      {search.peerService && (
        <p>
          Calls between {search.service ?? "any service"} and{" "}
          {search.peerNamespace ? `${search.peerNamespace}/` : ""}
          {search.peerService}.{" "}
          <Link href={tracesHref({ ...search, peerService: undefined, peerNamespace: undefined })}>
            Show all of {search.service ?? "them"}
          </Link>
        </p>
      )}
      {traces.error ? (
        <ApiErrorAlert error={traces.error} label="Could not load traces" />
      ) : !items ? (
        <p className="muted">Loading…</p>
      ) : items.length === 0 ? (
        <div className="empty">
          <h2>No traces</h2>
          <p>
            Sidecars record the sampled requests (MeshSettings <code>spec.tracing.samplingPercent</code>, 1 %
            unless set) and the control plane keeps them for a day. Widen the window or the filters.
          </p>
        </div>
      ) : (
        <table aria-label="Traces">
          <thead>
            <tr>
              <th scope="col">Trace</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
              <th scope="col">Spans</th>
              <th scope="col">Services</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {items.map((t) => (
              <tr key={t.traceId}>
                <td>
                  <Link href={traceHref(t.traceId)} title={t.traceId}>
                    {t.root ? `${t.root.service}: ${t.root.name}` : "(redacted root)"}
                  </Link>
                  <div className="muted trace-id">{t.traceId.slice(0, 12)}…</div>
                </td>
                <td>{new Date(t.startedAt).toLocaleTimeString()}</td>
                <td>{formatDuration(t.durationMs)}</td>
                <td>
                  {t.spans}
                  {t.redactedSpans > 0 && <span className="muted"> ({t.redactedSpans} redacted)</span>}
                </td>
                <td>{t.services.map((s) => `${s.namespace}/${s.service}`).join(", ")}</td>
                <td>
                  {t.errors > 0 ? (
                    <span className="badge bad">{t.errors} failed</span>
                  ) : (
                    <span className="badge ok">ok</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
