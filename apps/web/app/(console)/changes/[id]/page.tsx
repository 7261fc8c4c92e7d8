import type { Metadata } from "next";
import { prefetch, Prefetched, queryClient, trpc } from "@/lib/trpc/server";
import { ChangeDetail } from "./change-detail";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  const { id } = await params;
  return { title: `Change #${id}` };
}

export default async function ChangePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  // The change and what it would affect, read on the server as the signed-in user (decision 021). The page
  // is addressed by id or by number; what it affects is asked for by the change's id.
  const get = trpc.change.get.queryOptions({ id });
  const change = await prefetch(get);
  const c = queryClient().getQueryData(get.queryKey);
  const impact = c ? await prefetch(trpc.change.impact.queryOptions({ id: c.id })) : null;
  return (
    <Prefetched state={impact ? [change, impact] : [change]}>
      <ChangeDetail id={id} />
    </Prefetched>
  );
}
