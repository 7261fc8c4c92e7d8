// What the graph page draws from: the graph API, and the per-status-code breakdown only while an edge's side
// panel shows it. `graph.get` reads the window from the hour and 10-minute rollups (decision 020) and answers
// in a fraction of the time `traffic.edges` takes over per-minute rows with status codes; both give the same
// figures. Only the edge panel's "Status codes" needs the latter, so it is asked for (and polled) only while
// that panel is open; before, it followed every draw and every 5-second poll, and on a 2,000-edge mesh it cost
// the console more than the graph itself (docs/graph-benchmark.md, "Serving it"). The two are separate
// requests on purpose: batched together, the graph would wait for the slower one.
// Edit this when the page needs other data for its first draw; the drawing itself lives in graph-view.tsx.
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { useTRPC } from "@/lib/trpc/client";
import { graphInputs, trafficFromGraph } from "./graph-data";
import type { VersionMode } from "./graph-model";

export function useGraphTraffic(
  q: { namespace?: string; minutes: number; versions: VersionMode; until?: string },
  refetchInterval: number | false,
  /** Whether status codes are wanted (an edge's panel is open). */
  codes: boolean,
) {
  const trpc = useTRPC();
  const inputs = graphInputs(q);
  const graph = useQuery(
    trpc.graph.get.queryOptions(inputs.graph, { refetchInterval, placeholderData: (prev) => prev }),
  );
  const traffic = useQuery(
    trpc.traffic.edges.queryOptions(inputs.traffic, {
      enabled: codes && graph.data !== undefined,
      refetchInterval: codes ? refetchInterval : false,
      placeholderData: (prev) => prev,
    }),
  );
  const fromGraph = useMemo(() => (graph.data ? trafficFromGraph(graph.data) : undefined), [graph.data]);
  // traffic.edges' answer while codes are wanted and it is for what is shown now (not the previous window's,
  // kept while loading; not the last one fetched before the panel closed, which graph.get has moved past).
  const withCodes = codes && traffic.data !== undefined && !traffic.isPlaceholderData;
  const data = withCodes ? traffic.data : fromGraph;
  return { data, error: graph.error ?? (codes ? traffic.error : null) };
}
