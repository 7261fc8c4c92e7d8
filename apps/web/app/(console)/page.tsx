import type { Metadata } from "next";
import { prefetch, Prefetched, queryClient, trpc } from "@/lib/trpc/server";
import { Overview } from "./overview";
import { OVERVIEW_INPUTS as IN, latestApplied } from "./overview-model";

export const metadata: Metadata = { title: "Overview" };

export default async function OverviewPage() {
  // Everything the overview shows on arrival, read on the server as the signed-in user (decision 021).
  const applied = trpc.change.list.queryOptions(IN.applied);
  const lists = await prefetch(
    trpc.service.list.queryOptions(IN.services),
    trpc.proxy.list.queryOptions(IN.proxies),
    trpc.change.list.queryOptions(IN.open),
    trpc.change.list.queryOptions(IN.stale),
    applied,
    trpc.traffic.edges.queryOptions(IN.traffic),
  );
  // The latest applied change's rollout, which the overview asks for once it knows that change.
  const latest = latestApplied(queryClient().getQueryData(applied.queryKey)?.items ?? []);
  const rollout = latest ? await prefetch(trpc.change.rollout.queryOptions({ id: latest.id })) : null;
  return (
    <>
      <h1>Overview</h1>
      <Prefetched state={rollout ? [lists, rollout] : [lists]}>
        <Overview />
      </Prefetched>
    </>
  );
}
