import { ZGraph, ZGraphQuery } from "@trellis/contracts";
import { serviceGraph } from "@trellis/services";
import { authedProcedure, createTRPCRouter, syncOutput } from "../trpc.js";

export const graphRouter = createTRPCRouter({
  get: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/graph",
        tags: ["traffic"],
        summary: "The service graph: services as nodes, observed calls as edges, over a time window",
        protect: true,
      },
    })
    .input(ZGraphQuery)
    // 2,000 edges at the benchmark's size: the cheaper check (trpc.ts).
    .output(syncOutput(ZGraph))
    .query(({ ctx, input }) => serviceGraph(ctx.db, ctx.actor, input)),
});
