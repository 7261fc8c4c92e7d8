import { ZDemoFaultList, ZDemoFaultListInput, ZDemoFaultSet } from "@trellis/contracts";
import { listDemoFaults, setDemoFault } from "@trellis/services";
import { authedProcedure, createTRPCRouter } from "../trpc.js";

/** The demo's fault switch (decision 023): what `trellis demo fail` reads and sets. */
export const demoFaultRouter = createTRPCRouter({
  list: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/demo/faults",
        tags: ["demo"],
        summary: "The demo workloads failing on purpose (viewers of their namespace)",
        protect: true,
      },
    })
    .input(ZDemoFaultListInput)
    .output(ZDemoFaultList)
    .query(({ ctx, input }) => listDemoFaults(ctx.db, ctx.actor, input)),
  set: authedProcedure
    .meta({
      openapi: {
        method: "PUT",
        path: "/demo/faults",
        tags: ["demo"],
        summary:
          "Make a demo workload answer a share of requests with an error and/or late; 0 % and no latency clears it (editors of its namespace)",
        protect: true,
      },
    })
    .input(ZDemoFaultSet)
    .output(ZDemoFaultList)
    .mutation(({ ctx, input }) => setDemoFault(ctx.db, ctx.actor, input)),
});
