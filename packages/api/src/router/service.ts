import { ZServiceList, ZServiceListInput } from "@trellis/contracts";
import { listServices } from "@trellis/services";
import { authedProcedure, createTRPCRouter } from "../trpc.js";

export const serviceRouter = createTRPCRouter({
  list: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/services",
        tags: ["services"],
        summary: "List services in the registry",
        protect: true,
      },
    })
    .input(ZServiceListInput)
    .output(ZServiceList)
    .query(({ ctx, input }) => listServices(ctx.db, ctx.actor, input)),
});
