import {
  ZResourceDetail,
  ZResourceGetInput,
  ZResourceHistory,
  ZResourceList,
  ZResourceListInput,
  ZResourceRefInput,
} from "@trellis/contracts";
import { getResource, listResources, resourceHistory } from "@trellis/services";
import { authedProcedure, createTRPCRouter } from "../trpc.js";

/** Policy resources in force and their history. Read-only: resources change only through change requests. */
export const resourceRouter = createTRPCRouter({
  list: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/resources",
        tags: ["resources"],
        summary: "List resources in force (in the namespaces you may read)",
        protect: true,
      },
    })
    .input(ZResourceListInput)
    .output(ZResourceList)
    .query(({ ctx, input }) => listResources(ctx.db, ctx.actor, input)),
  get: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/resources/{kind}/{namespace}/{name}",
        tags: ["resources"],
        summary: "Get a resource as in force, or one of its revisions (?revision=N)",
        protect: true,
      },
    })
    .input(ZResourceGetInput)
    .output(ZResourceDetail)
    .query(({ ctx, input }) => getResource(ctx.db, ctx.actor, input)),
  history: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/resources/{kind}/{namespace}/{name}/history",
        tags: ["resources"],
        summary: "Every revision of a resource, newest first, with the change that wrote it",
        protect: true,
      },
    })
    .input(ZResourceRefInput)
    .output(ZResourceHistory)
    .query(({ ctx, input }) => resourceHistory(ctx.db, ctx.actor, input)),
});
