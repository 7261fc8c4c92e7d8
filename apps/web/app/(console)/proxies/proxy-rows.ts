// What the Proxies page filters and counts, apart from React. Pure, unit-tested.
import { PROXY_SYNC_STATES, type ProxySummary, type ProxySyncState } from "@trellis/contracts";

export interface ProxyFilter {
  namespace: string;
  service: string;
  sync: ProxySyncState | "";
}

export const NO_FILTER: ProxyFilter = { namespace: "", service: "", sync: "" };

export const SYNC_LABEL: Record<ProxySyncState, string> = {
  in_sync: "In sync",
  pending: "Pending",
  nacked: "NACKed",
};

/** A filter from the page's query string (`?namespace=shop&sync=nacked`), ignoring what it cannot be. */
export function filterFrom(q: Record<string, string | string[] | undefined>): ProxyFilter {
  const one = (k: string) => (typeof q[k] === "string" ? q[k] : "");
  const sync = one("sync");
  return {
    namespace: one("namespace"),
    service: one("service"),
    sync: (PROXY_SYNC_STATES as readonly string[]).includes(sync) ? (sync as ProxySyncState) : "",
  };
}

export function filterProxies(items: readonly ProxySummary[], f: ProxyFilter): ProxySummary[] {
  return items.filter(
    (p) =>
      (!f.namespace || p.namespace === f.namespace) &&
      (!f.service || p.service === f.service) &&
      (!f.sync || p.sync.state === f.sync),
  );
}

/** The choices the filters offer: every namespace, and the services of the chosen one (or of all). */
export function filterOptions(
  items: readonly ProxySummary[],
  namespace: string,
): { namespaces: string[]; services: string[] } {
  const sorted = (s: Iterable<string>) => [...new Set(s)].sort();
  return {
    namespaces: sorted(items.map((p) => p.namespace)),
    services: sorted(items.filter((p) => !namespace || p.namespace === namespace).map((p) => p.service)),
  };
}

export function syncCounts(items: readonly ProxySummary[]): Record<ProxySyncState, number> {
  const n: Record<ProxySyncState, number> = { in_sync: 0, pending: 0, nacked: 0 };
  for (const p of items) n[p.sync.state]++;
  return n;
}

/** "12 s ago", "5 min ago", "3 h ago", "2 d ago": how long since the control plane last heard from it. */
export function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}
