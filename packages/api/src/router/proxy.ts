import { ZProxyList, ZProxyListInput } from "@trellis/contracts";
import { listProxies } from "@trellis/services";
import { authedProcedure, createTRPCRouter } from "../trpc.js";

export const proxyRouter = createTRPCRouter({
  list: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/proxies",
        tags: ["services"],
        summary: "List registered proxies and their config versions",
        protect: true,
      },
    })
    .input(ZProxyListInput)
    .output(ZProxyList)
    .query(({ ctx, input }) => listProxies(ctx.db, ctx.actor, input)),
});
