import { z } from "zod";
import {
  ZMe,
  ZRoleGrantInput,
  ZRoleGrantResult,
  ZUserCreateInput,
  ZUserList,
  ZUserPasswordReset,
  ZUserPasswordResetInput,
  ZUserRef,
  ZUserSummary,
} from "@trellis/contracts";
import {
  createUser,
  getMe,
  grantRole,
  listUsers,
  resetUserPassword,
  revokeRole,
  setUserDisabled,
} from "@trellis/services";
import { authedProcedure, createTRPCRouter } from "../trpc.js";

const tags = ["users and roles"];

export const userRouter = createTRPCRouter({
  me: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/me",
        tags,
        summary: "Who you are, your role bindings, and the rights of this call",
        protect: true,
      },
    })
    .input(z.object({}))
    .output(ZMe)
    .query(({ ctx }) => getMe(ctx.db, ctx.actor)),
  list: authedProcedure
    .meta({
      openapi: { method: "GET", path: "/users", tags, summary: "List users (admins)", protect: true },
    })
    .input(z.object({}))
    .output(ZUserList)
    .query(async ({ ctx }) => ({ items: await listUsers(ctx.db, ctx.actor) })),
  create: authedProcedure
    .meta({
      errors: ["CONFLICT"],
      openapi: {
        method: "POST",
        path: "/users",
        tags,
        summary: "Create a user, with a password or for single sign-on only (admins of *)",
        protect: true,
      },
    })
    .input(ZUserCreateInput)
    .output(ZUserSummary)
    .mutation(({ ctx, input }) => createUser(ctx.db, ctx.actor, input)),
  disable: authedProcedure
    .meta({
      errors: ["CONFLICT"],
      openapi: {
        method: "POST",
        path: "/users/{name}/disable",
        tags,
        summary: "Disable a user: no sign-in, sessions and API tokens stop working (admins of *)",
        protect: true,
      },
    })
    .input(ZUserRef)
    .output(ZUserSummary)
    .mutation(({ ctx, input }) => setUserDisabled(ctx.db, ctx.actor, { name: input.name, disabled: true })),
  enable: authedProcedure
    .meta({
      openapi: {
        method: "POST",
        path: "/users/{name}/enable",
        tags,
        summary: "Enable a disabled user again (admins of *)",
        protect: true,
      },
    })
    .input(ZUserRef)
    .output(ZUserSummary)
    .mutation(({ ctx, input }) => setUserDisabled(ctx.db, ctx.actor, { name: input.name, disabled: false })),
  resetPassword: authedProcedure
    .meta({
      openapi: {
        method: "POST",
        path: "/users/{name}/password",
        tags,
        summary: "Set a user's password, or generate one that is returned once (admins of *)",
        protect: true,
      },
    })
    .input(ZUserPasswordResetInput)
    .output(ZUserPasswordReset)
    .mutation(({ ctx, input }) => resetUserPassword(ctx.db, ctx.actor, input)),
  grant: authedProcedure
    .meta({
      errors: ["ROLE_ESCALATION"],
      openapi: {
        method: "POST",
        path: "/users/{name}/roles",
        tags,
        summary: "Grant a role in a namespace or * (admins of that scope, never beyond their own rights)",
        protect: true,
      },
    })
    .input(ZRoleGrantInput)
    .output(ZRoleGrantResult)
    .mutation(({ ctx, input }) => grantRole(ctx.db, ctx.actor, input)),
  revoke: authedProcedure
    .meta({
      errors: ["USER_LAST_ADMIN"],
      openapi: {
        method: "DELETE",
        path: "/users/{name}/roles",
        tags,
        summary: "Revoke a role binding (admins of that scope; never the last admin of *)",
        protect: true,
      },
    })
    .input(ZRoleGrantInput)
    .output(ZRoleGrantResult)
    .mutation(({ ctx, input }) => revokeRole(ctx.db, ctx.actor, input)),
});
