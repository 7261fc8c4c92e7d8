import { ZPolicySuggestInput, ZPolicySuggestion } from "@trellis/contracts";
import { suggestAccessPolicy } from "@trellis/services";
import { authedProcedure, createTRPCRouter } from "../trpc.js";

/**
 * Policies drawn from the mesh as it runs. Read-only: a suggestion is proposed like any other change, through
 * `change.create` with the operation it returns, so the usual rules (editor role, validation, approvals) hold.
 */
export const policyRouter = createTRPCRouter({
  suggest: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/policies/suggest",
        tags: ["policies"],
        summary:
          "An AccessPolicy allowing exactly the callers (by identity, optionally by the methods and path prefixes observed) seen calling a service in a window, with the evidence",
        protect: true,
      },
    })
    .input(ZPolicySuggestInput)
    .output(ZPolicySuggestion)
    .query(({ ctx, input }) => suggestAccessPolicy(ctx.db, ctx.actor, input)),
});
