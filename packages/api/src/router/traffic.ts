import {
  ZObservedTraffic,
  ZServiceSeries,
  ZServiceSeriesQuery,
  ZSparklines,
  ZSparklinesQuery,
  ZTrafficQuery,
} from "@trellis/contracts";
import { queryTraffic, serviceSeries, serviceSparklines } from "@trellis/services";
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
        summary: "Calls into one service as per-minute time series, by version, by caller or in total",
        protect: true,
      },
    })
    .input(ZServiceSeriesQuery)
    .output(ZServiceSeries)
    .query(({ ctx, input }) => serviceSeries(ctx.db, ctx.actor, input)),
  sparklines: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/traffic/sparklines",
        tags: ["traffic"],
        summary: "Calls into each of many services as short time series (rate, 5xx share), in one query",
        protect: true,
      },
    })
    .input(ZSparklinesQuery)
    .output(ZSparklines)
    .query(({ ctx, input }) => serviceSparklines(ctx.db, ctx.actor, input)),
});
