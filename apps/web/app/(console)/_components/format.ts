// How the console writes traffic figures (rates, shares, latencies) and the windows it offers. Its own module,
// free of schemas: the overview, the service pages and the graph all print these (decision 021: what a page
// imports for a number must not bring a parser with it).

/** Time windows the graph and the service views offer. */
export const WINDOWS = [
  { minutes: 1, label: "1 minute" },
  { minutes: 5, label: "5 minutes" },
  { minutes: 15, label: "15 minutes" },
  { minutes: 60, label: "1 hour" },
  { minutes: 360, label: "6 hours" },
  { minutes: 1440, label: "24 hours" },
];

export function formatRps(rps: number): string {
  if (rps === 0) return "0 req/s";
  if (rps < 0.01) return "<0.01 req/s";
  return `${rps < 10 ? rps.toFixed(2) : rps < 100 ? rps.toFixed(1) : Math.round(rps)} req/s`;
}
export function formatPercent(share: number): string {
  if (share === 0) return "0%";
  if (share < 0.0001) return "<0.01%";
  const p = share * 100;
  return `${p < 10 ? p.toFixed(2) : p.toFixed(1)}%`;
}
export function formatMs(ms: number | null): string {
  if (ms === null) return "–";
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}
