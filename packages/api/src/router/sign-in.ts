import { ZApiTokenCreated, ZTokenSignInInput } from "@trellis/contracts";
import { createApiTokenWithPassword } from "@trellis/services";
import { createTRPCRouter, publicProcedure } from "../trpc.js";

// The one REST procedure that takes no bearer token: it is how a user without one gets one. Rate limited
// per user name in the service; REST carries no cookies, so there is nothing for a cross-site form to ride.
export const signInRouter = createTRPCRouter({
  token: publicProcedure
    .meta({
      errors: ["AUTH_INVALID_CREDENTIALS", "AUTH_RATE_LIMITED"],
      openapi: {
        method: "POST",
        path: "/tokens/sign-in",
        tags: ["API tokens"],
        summary: "Sign in with your user name and password and get an API token (at most your rights)",
      },
    })
    .input(ZTokenSignInInput)
    .output(ZApiTokenCreated)
    .mutation(async ({ ctx, input }) => {
      const t = await createApiTokenWithPassword(
        ctx.db,
        {
          user: input.user,
          password: input.password,
          name: input.name,
          ...(input.role ? { role: input.role } : {}),
          ...(input.namespace ? { namespace: input.namespace } : {}),
          ...(input.expiresIn !== undefined ? { expiresAt: new Date(Date.now() + input.expiresIn) } : {}),
        },
        // The context carries no client address for unauthenticated calls yet, so the audit entry has none.
        { via: "api" },
      );
      return { id: t.id, name: t.name, token: t.token, role: t.role, namespace: t.namespace };
    }),
});
