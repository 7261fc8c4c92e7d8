// What the overview picks out of the lists it reads, apart from React. Pure, unit-tested.
import type { ChangeSummary } from "@trellis/contracts";
import type { ServiceMetrics } from "./services/service-metrics";

/** Counting open and stale requests reads at most this many of each. */
export const CHANGE_LIMIT = 200;
export const TRAFFIC_MINUTES = 5;

/**
 * What the overview reads: its components ask for these and its page prefetches them on the server, so the
 * two cannot drift apart (a different input would be another query, fetched again by the browser).
 */
export const OVERVIEW_INPUTS = {
  services: {},
  proxies: {},
  open: { status: "open", limit: CHANGE_LIMIT },
  stale: { status: "stale", limit: CHANGE_LIMIT },
  applied: { status: "applied", limit: 20 },
  traffic: { minutes: TRAFFIC_MINUTES, versions: "merged" },
} as const;

/** The services failing the most of the calls into them (5xx share), busiest first among equals. */
export function topByErrorRate(
  rows: readonly ServiceMetrics[],
  n: number,
): (ServiceMetrics & { errorRate: number })[] {
  return rows
    .filter((r) => r.successRate !== null && r.service !== "unknown")
    .map((r) => ({ ...r, errorRate: 1 - r.successRate! }))
    .sort((a, b) => b.errorRate - a.errorRate || b.rps - a.rps || a.service.localeCompare(b.service))
    .slice(0, n);
}

/** The change applied last (lists are newest-proposed first, which is not always applied last). */
export function latestApplied(items: readonly ChangeSummary[]): ChangeSummary | null {
  let best: ChangeSummary | null = null;
  for (const c of items)
    if (c.appliedAt !== null && (best === null || c.appliedAt > best.appliedAt!)) best = c;
  return best;
}

/** A count from a list read with a limit: "200+" when the list may have been cut. */
export function countOf(items: readonly unknown[], limit: number): string {
  return items.length >= limit ? `${limit}+` : String(items.length);
}
