import { ZAuditListInput, ZAuditPage } from "@trellis/contracts";
import { listAuditEvents } from "@trellis/services";
import { authedProcedure, createTRPCRouter } from "../trpc.js";

// Read-only by design: the audit log has no update or delete procedure, and must never get one.
export const auditRouter = createTRPCRouter({
  list: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/audit",
        tags: ["audit"],
        summary: "Audit events, newest first, with filters and a cursor (admins; namespace admins: theirs)",
        protect: true,
      },
    })
    .input(ZAuditListInput)
    .output(ZAuditPage)
    .query(({ ctx, input }) =>
      listAuditEvents(ctx.db, ctx.actor, {
        ...input,
        since: input.since ? new Date(input.since) : undefined,
        until: input.until ? new Date(input.until) : undefined,
      }),
    ),
});
