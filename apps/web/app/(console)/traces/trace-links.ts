// Links into the Traces page, from the graph and the service pages: the search is in the URL, so a link
// opens the traces it names and the page can be bookmarked or shared.

export interface TraceSearch {
  namespace?: string;
  service?: string;
  peerNamespace?: string;
  peerService?: string;
  status?: "ok" | "error";
  order?: "newest" | "slowest";
  minDurationMs?: number;
  /** Minutes back from now. */
  window?: number;
}

export function tracesHref(s: TraceSearch): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(s)) if (v !== undefined && v !== "") q.set(k, String(v));
  const text = q.toString();
  return text ? `/traces?${text}` : "/traces";
}

export const traceHref = (traceId: string) => `/traces/${traceId}`;
