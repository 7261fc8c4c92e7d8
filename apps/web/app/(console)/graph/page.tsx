import type { Metadata } from "next";
import { prefetch, Prefetched, trpc } from "@/lib/trpc/server";
import { GraphView } from "./graph-view";
import { OPENING_VIEW, graphInputs } from "./graph-data";

export const metadata: Metadata = { title: "Graph" };

type Search = Promise<Record<string, string | string[] | undefined>>;

/** `?namespace=shop` opens the graph filtered to one namespace (the service pages link here). */
export default async function GraphPage({ searchParams }: { searchParams: Search }) {
  const q = await searchParams;
  const namespace = typeof q.namespace === "string" ? q.namespace : undefined;
  // What the first drawing needs, read on the server as the signed-in user (decision 021). Not traffic.edges:
  // the page asks for it only while an edge panel shows status codes (use-graph-traffic.ts).
  const inputs = graphInputs({ ...(namespace ? { namespace } : {}), ...OPENING_VIEW });
  const state = await prefetch(
    trpc.graph.get.queryOptions(inputs.graph),
    trpc.service.list.queryOptions(inputs.services),
    trpc.resource.list.queryOptions(inputs.resources),
  );
  return (
    <>
      <h1>Service graph</h1>
      <Prefetched state={[state]}>
        <GraphView initialNamespace={namespace} />
      </Prefetched>
    </>
  );
}
