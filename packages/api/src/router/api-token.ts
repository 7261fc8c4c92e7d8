import { z } from "zod";
import {
  ZApiTokenCreated,
  ZApiTokenCreateInput,
  ZApiTokenListInput,
  ZApiTokenSummary,
  ZIdInput,
} from "@trellis/contracts";
import { createApiToken, listApiTokens, revokeApiToken } from "@trellis/services";
import { authedProcedure, createTRPCRouter } from "../trpc.js";

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const apiTokenRouter = createTRPCRouter({
  create: authedProcedure
    .meta({
      openapi: {
        method: "POST",
        path: "/tokens",
        tags: ["API tokens"],
        summary: "Create an API token for yourself, with at most your rights",
        protect: true,
      },
    })
    .input(ZApiTokenCreateInput)
    .output(ZApiTokenCreated)
    .mutation(async ({ ctx, input }) => {
      const t = await createApiToken(ctx.db, ctx.actor, {
        name: input.name,
        ...(input.role ? { role: input.role } : {}),
        ...(input.namespace ? { namespace: input.namespace } : {}),
        ...(input.expiresIn !== undefined ? { expiresAt: new Date(Date.now() + input.expiresIn) } : {}),
      });
      return { id: t.id, name: t.name, token: t.token, role: t.role, namespace: t.namespace };
    }),
  list: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/tokens",
        tags: ["API tokens"],
        summary: "List your API tokens (admins of *: another user's, with ?user=NAME)",
        protect: true,
      },
    })
    .input(ZApiTokenListInput)
    .output(z.object({ items: z.array(ZApiTokenSummary) }))
    .query(async ({ ctx, input }) => ({
      items: (await listApiTokens(ctx.db, ctx.actor, input.user ? { user: input.user } : {})).map((t) => ({
        id: t.id,
        name: t.name,
        user: t.user.name,
        prefix: t.prefix,
        role: t.role,
        namespace: t.namespace,
        createdAt: t.createdAt.toISOString(),
        lastUsedAt: iso(t.lastUsedAt),
        expiresAt: iso(t.expiresAt),
        revokedAt: iso(t.revokedAt),
      })),
    })),
  revoke: authedProcedure
    .meta({
      openapi: {
        method: "DELETE",
        path: "/tokens/{id}",
        tags: ["API tokens"],
        summary: "Revoke an API token",
        protect: true,
      },
    })
    .input(ZIdInput)
    .output(z.object({ revoked: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      await revokeApiToken(ctx.db, ctx.actor, input.id);
      return { revoked: true as const };
    }),
});
