import type { Metadata } from "next";
import { GraphView } from "./graph-view";

export const metadata: Metadata = { title: "Graph" };

type Search = Promise<Record<string, string | string[] | undefined>>;

/** `?namespace=shop` opens the graph filtered to one namespace (the service pages link here). */
export default async function GraphPage({ searchParams }: { searchParams: Search }) {
  const q = await searchParams;
  const namespace = typeof q.namespace === "string" ? q.namespace : undefined;
  return (
    <>
      <h1>Service graph</h1>
      <GraphView initialNamespace={namespace} />
    </>
  );
}
