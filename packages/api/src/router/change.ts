import {
  ZChange,
  ZChangeCreateInput,
  ZChangeDecisionInput,
  ZChangeIdInput,
  ZChangeList,
  ZChangeListInput,
  ZChangePreview,
  ZChangePreviewInput,
  ZChangeRollbackInput,
  ZImpact,
  ZRollout,
} from "@trellis/contracts";
import {
  approveChange,
  cancelChange,
  createChange,
  getChange,
  getChangeImpact,
  getChangeRollout,
  listChanges,
  previewChange,
  rebaseChange,
  rejectChange,
  rollbackChange,
} from "@trellis/services";
import { authedProcedure, createTRPCRouter } from "../trpc.js";

/**
 * Change requests: propose, review, apply, roll back. Thin: every rule (roles, self-approval, staleness,
 * validation) lives in @trellis/services. `{id}` is the change's id or its number.
 */
export const changeRouter = createTRPCRouter({
  create: authedProcedure
    .meta({
      errors: ["CHANGE_INVALID", "CHANGE_STALE"],
      openapi: {
        method: "POST",
        path: "/changes",
        tags: ["changes"],
        summary: "Propose a change: operations, or YAML documents as `trellis apply -f` sends them (editors)",
        protect: true,
      },
    })
    .input(ZChangeCreateInput)
    .output(ZChange)
    .mutation(({ ctx, input }) => createChange(ctx.db, ctx.actor, input)),
  preview: authedProcedure
    .meta({
      errors: ["CHANGE_INVALID"],
      openapi: {
        method: "POST",
        path: "/changes/preview",
        tags: ["changes"],
        summary: "Validate a change and preview its impact without saving it",
        protect: true,
      },
    })
    .input(ZChangePreviewInput)
    .output(ZChangePreview)
    .mutation(({ ctx, input }) => previewChange(ctx.db, ctx.actor, input)),
  list: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/changes",
        tags: ["changes"],
        summary: "List change requests, newest first (those whose namespaces you may read)",
        protect: true,
      },
    })
    .input(ZChangeListInput)
    .output(ZChangeList)
    .query(({ ctx, input }) => listChanges(ctx.db, ctx.actor, input)),
  get: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/changes/{id}",
        tags: ["changes"],
        summary: "A change request: operations with before/after, validation, approvals, rollout",
        protect: true,
      },
    })
    .input(ZChangeIdInput)
    .output(ZChange)
    .query(({ ctx, input }) => getChange(ctx.db, ctx.actor, input)),
  impact: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/changes/{id}/impact",
        tags: ["changes"],
        summary:
          "Services and proxies the change touches, and the last hour's traffic it would have affected",
        protect: true,
      },
    })
    .input(ZChangeIdInput)
    .output(ZImpact)
    .query(({ ctx, input }) => getChangeImpact(ctx.db, ctx.actor, input)),
  rollout: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/changes/{id}/rollout",
        tags: ["changes"],
        summary: "How the applied change reached the proxies: acked, nacked (with reasons), pending",
        protect: true,
      },
    })
    .input(ZChangeIdInput)
    .output(ZRollout)
    .query(({ ctx, input }) => getChangeRollout(ctx.db, ctx.actor, input)),
  approve: authedProcedure
    .meta({
      errors: ["CHANGE_SELF_APPROVAL", "CHANGE_NOT_OPEN", "CHANGE_STALE", "CONFLICT"],
      openapi: {
        method: "POST",
        path: "/changes/{id}/approve",
        tags: ["changes"],
        summary: "Approve (approvers, never the author); the last required approval applies the change",
        protect: true,
      },
    })
    .input(ZChangeDecisionInput)
    .output(ZChange)
    .mutation(({ ctx, input }) => approveChange(ctx.db, ctx.actor, input)),
  reject: authedProcedure
    .meta({
      errors: ["CHANGE_SELF_APPROVAL", "CHANGE_NOT_OPEN", "CHANGE_STALE", "CONFLICT"],
      openapi: {
        method: "POST",
        path: "/changes/{id}/reject",
        tags: ["changes"],
        summary: "Reject with a comment (approvers, never the author)",
        protect: true,
      },
    })
    .input(ZChangeDecisionInput)
    .output(ZChange)
    .mutation(({ ctx, input }) => rejectChange(ctx.db, ctx.actor, input)),
  cancel: authedProcedure
    .meta({
      errors: ["CHANGE_NOT_OPEN"],
      openapi: {
        method: "POST",
        path: "/changes/{id}/cancel",
        tags: ["changes"],
        summary: "Withdraw a change that is not applied (its author)",
        protect: true,
      },
    })
    .input(ZChangeIdInput)
    .output(ZChange)
    .mutation(({ ctx, input }) => cancelChange(ctx.db, ctx.actor, input)),
  rebase: authedProcedure
    .meta({
      errors: ["CHANGE_NOT_OPEN", "CHANGE_STALE"],
      openapi: {
        method: "POST",
        path: "/changes/{id}/rebase",
        tags: ["changes"],
        summary: "Rebase a stale change on the revisions in force now (approvals are dismissed)",
        protect: true,
      },
    })
    .input(ZChangeIdInput)
    .output(ZChange)
    .mutation(({ ctx, input }) => rebaseChange(ctx.db, ctx.actor, input)),
  rollback: authedProcedure
    .meta({
      errors: ["CHANGE_NOT_APPLIED", "CHANGE_STALE"],
      openapi: {
        method: "POST",
        path: "/changes/{id}/rollback",
        tags: ["changes"],
        summary:
          "Propose a change that restores the revisions before an applied change (admins may fast-track)",
        protect: true,
      },
    })
    .input(ZChangeRollbackInput)
    .output(ZChange)
    .mutation(({ ctx, input }) => rollbackChange(ctx.db, ctx.actor, input)),
});
