import { ZObservedTraffic, ZServiceSeries, ZServiceSeriesQuery, ZTrafficQuery } from "@trellis/contracts";
import { queryTraffic, serviceSeries } from "@trellis/services";
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
  series: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/traffic/series",
        tags: ["traffic"],
        summary: "Calls into one service as per-minute time series, by version or by caller",
        protect: true,
      },
    })
    .input(ZServiceSeriesQuery)
    .output(ZServiceSeries)
    .query(({ ctx, input }) => serviceSeries(ctx.db, ctx.actor, input)),
});
