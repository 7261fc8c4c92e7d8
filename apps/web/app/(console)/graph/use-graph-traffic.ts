// What the graph page draws from: the graph API first, the per-status-code breakdown after it.
// `graph.get` reads the window from the hour and 10-minute rollups (decision 020) and answers in a fraction of
// the time `traffic.edges` takes over per-minute rows with status codes; both give the same figures. So the
// page draws from the graph's answer, then asks `traffic.edges` (only the side panel's status codes need it)
// and uses that answer from when it arrives. The two are separate requests on purpose: batched together, the
// first draw would wait for the slower one again.
// Edit this when the page needs other data for its first draw; the drawing itself lives in graph-view.tsx.
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { useTRPC } from "@/lib/trpc/client";
import { trafficFromGraph } from "./graph-data";
import type { VersionMode } from "./graph-model";

export function useGraphTraffic(
  q: { namespace?: string; minutes: number; versions: VersionMode; until?: string },
  refetchInterval: number | false,
) {
  const trpc = useTRPC();
  const graph = useQuery(
    trpc.graph.get.queryOptions(
      {
        ...(q.namespace ? { namespace: q.namespace } : {}),
        window: `${q.minutes}m`,
        groupBy: q.versions === "split" ? "version" : "service",
        ...(q.until ? { end: q.until } : {}),
      },
      { refetchInterval, placeholderData: (prev) => prev },
    ),
  );
  const traffic = useQuery(
    trpc.traffic.edges.queryOptions(
      {
        ...(q.namespace ? { namespace: q.namespace } : {}),
        minutes: q.minutes,
        versions: q.versions,
        ...(q.until ? { until: q.until } : {}),
      },
      { enabled: graph.data !== undefined, refetchInterval, placeholderData: (prev) => prev },
    ),
  );
  const fromGraph = useMemo(() => (graph.data ? trafficFromGraph(graph.data) : undefined), [graph.data]);
  // traffic.edges' answer once it is for what is shown now (not the previous window's, kept while loading).
  const data =
    traffic.data !== undefined && !traffic.isPlaceholderData ? traffic.data : (fromGraph ?? traffic.data);
  return { data, error: graph.error ?? traffic.error };
}
