import { ZObservedTraffic, ZTrafficQuery } from "@trellis/contracts";
import { queryTraffic } from "@trellis/services";
import { authedProcedure, createTRPCRouter } from "../trpc.js";

export const trafficRouter = createTRPCRouter({
  edges: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/traffic/edges",
        tags: ["traffic"],
        summary: "Observed calls between services over a time window (rates, errors, latency quantiles)",
        protect: true,
      },
    })
    .input(ZTrafficQuery)
    .output(ZObservedTraffic)
    .query(({ ctx, input }) => queryTraffic(ctx.db, ctx.actor, input)),
});
