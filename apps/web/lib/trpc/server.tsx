// Data for a page's first paint, fetched while the server renders it: the same tRPC procedures the page's
// components call from the browser, run in-process with the signed-in user's own context (the same actor,
// so the same RBAC checks in services), their answers handed to the browser's React Query cache in the
// HTML. The page then paints its data with the HTML instead of after its script and a round trip
// (decision 021). Edit when a page prefetches something new: the query options must be the ones its
// component asks for (same procedure, same input), or the browser fetches again.
import "server-only";
import {
  dehydrate,
  HydrationBoundary,
  QueryClient,
  type DehydratedState,
  type FetchQueryOptions,
  type QueryKey,
} from "@tanstack/react-query";
import { createTRPCOptionsProxy } from "@trpc/tanstack-react-query";
import { headers } from "next/headers";
import { cache, type ReactNode } from "react";
import { appRouter, sessionContext, type Context } from "@trellis/api";
import { sessionUserId } from "@/lib/server/auth";
import { db } from "@/lib/server/db";
import { env } from "@/lib/server/env";

/** The caller's context, once per request: no session, no actor, and every procedure refuses as over HTTP. */
const context = cache(async (): Promise<Context> => {
  const userId = await sessionUserId();
  if (!userId) return { db: db(), actor: null, authError: null };
  return sessionContext(db(), userId, await headers(), env().TRELLIS_TRUST_PROXY);
});

/**
 * One query cache per request (React's `cache`): every prefetch of a render lands in the same one. A page reads
 * an answer from it (`getQueryData`) when what else to prefetch depends on it.
 */
export const queryClient = cache(() => new QueryClient());

/** `trpc.<router>.<procedure>.queryOptions(input)`, as the browser's `useTRPC()` gives them. */
export const trpc = createTRPCOptionsProxy({ router: appRouter, ctx: context, queryClient });

const serializeData = (data: unknown) => (data === undefined ? data : JSON.parse(JSON.stringify(data)));

/**
 * Runs the queries and returns their answers for <Prefetched>. A query that fails is left out: the browser
 * asks again and shows the error as it would have. Await it: the HTML waits for the data it is meant to carry.
 */
export async function prefetch(...queries: { queryKey: QueryKey }[]): Promise<DehydratedState> {
  const client = queryClient();
  // The cast: each procedure's options have their own precise type, which no one parameter type takes.
  await Promise.all(queries.map((q) => client.prefetchQuery(q as FetchQueryOptions)));
  const these = new Set(
    queries.map((q) => client.getQueryCache().find({ queryKey: q.queryKey, exact: true })),
  );
  return dehydrate(client, {
    // Only these: the layout's and the page's answers go into the HTML once each.
    shouldDehydrateQuery: (q) => these.has(q) && q.state.status === "success",
    // Exactly what the browser would have read from /api/trpc (no transformer: JSON). Without the round trip
    // a Date or an `undefined` in an answer would reach the components as something the wire never carries.
    serializeData,
  });
}

/** Puts prefetched answers in the browser's query cache before the client components inside render. */
export function Prefetched({ state, children }: { state: DehydratedState[]; children: ReactNode }) {
  const merged: DehydratedState = { mutations: [], queries: state.flatMap((s) => s.queries) };
  return <HydrationBoundary state={merged}>{children}</HydrationBoundary>;
}
