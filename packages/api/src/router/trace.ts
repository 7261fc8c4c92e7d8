import { ZTrace, ZTraceGetInput, ZTraceList, ZTraceListInput } from "@trellis/contracts";
import { getTrace, listTraces } from "@trellis/services";
import { authedProcedure, createTRPCRouter } from "../trpc.js";

// Read-only: spans are written by the control plane's trace intake only.
export const traceRouter = createTRPCRouter({
  list: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/traces",
        tags: ["traces"],
        summary:
          "Traces from the mesh's trace store: by service, namespace, peer, status, minimum duration and time window; spans of namespaces the caller may not read are counted as redacted",
        protect: true,
      },
    })
    .input(ZTraceListInput)
    .output(ZTraceList)
    .query(({ ctx, input }) => listTraces(ctx.db, ctx.actor, input)),
  get: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/traces/{traceId}",
        tags: ["traces"],
        summary: "One trace's spans, by start; spans of namespaces the caller may not read come redacted",
        protect: true,
      },
    })
    .input(ZTraceGetInput)
    .output(ZTrace)
    .query(({ ctx, input }) => getTrace(ctx.db, ctx.actor, input)),
});
