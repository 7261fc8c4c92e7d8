import { z } from "zod";
import { ZIdInput, ZJoinTokenCreated, ZJoinTokenCreateInput, ZJoinTokenSummary } from "@trellis/contracts";
import { createJoinToken, listJoinTokens, revokeJoinToken } from "@trellis/services";
import { authedProcedure, createTRPCRouter } from "../trpc.js";

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const joinTokenRouter = createTRPCRouter({
  create: authedProcedure
    .meta({
      errors: ["CONFLICT"],
      openapi: {
        method: "POST",
        path: "/join-tokens",
        tags: ["join tokens"],
        summary: "Create a proxy join token (admins)",
        protect: true,
      },
    })
    .input(ZJoinTokenCreateInput)
    .output(ZJoinTokenCreated)
    .mutation(async ({ ctx, input }) => {
      const t = await createJoinToken(ctx.db, ctx.actor, {
        namespace: input.namespace,
        ...(input.service ? { service: input.service } : {}),
        ...(input.name ? { name: input.name } : {}),
        ...(input.expiresIn !== undefined ? { expiresAt: new Date(Date.now() + input.expiresIn) } : {}),
      });
      return { ...t, expiresAt: iso(t.expiresAt) };
    }),
  list: authedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/join-tokens",
        tags: ["join tokens"],
        summary: "List join tokens (admins)",
        protect: true,
      },
    })
    .input(z.object({ namespace: z.string().optional() }))
    .output(z.object({ items: z.array(ZJoinTokenSummary) }))
    .query(async ({ ctx, input }) => ({
      items: (
        await listJoinTokens(ctx.db, ctx.actor, input.namespace ? { namespace: input.namespace } : {})
      ).map((t) => ({
        id: t.id,
        name: t.name,
        prefix: t.prefix,
        namespace: t.namespace,
        service: t.service,
        createdAt: t.createdAt.toISOString(),
        expiresAt: iso(t.expiresAt),
        revokedAt: iso(t.revokedAt),
        lastUsedAt: iso(t.lastUsedAt),
        evictedProxies: t.evictedProxies,
      })),
    })),
  revoke: authedProcedure
    .meta({
      openapi: {
        method: "DELETE",
        path: "/join-tokens/{id}",
        tags: ["join tokens"],
        summary: "Revoke a join token (admins)",
        protect: true,
      },
    })
    .input(ZIdInput)
    .output(
      z.object({
        revoked: z.literal(true),
        evictedProxies: z.number().int().describe("connected proxies that joined with it, now evicted"),
        certificatesRevoked: z
          .number()
          .int()
          .describe("their unexpired certificates, now refused by sidecars"),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const r = await revokeJoinToken(ctx.db, ctx.actor, input.id);
      return {
        revoked: true as const,
        evictedProxies: r.evicted,
        certificatesRevoked: r.certificatesRevoked,
      };
    }),
});
