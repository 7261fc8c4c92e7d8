// Every environment variable the console reads, validated once. Edit when adding a setting.
import "server-only";
import { z } from "zod";

const ZEnv = z.object({
  DATABASE_URL: z.string().min(1, "DATABASE_URL is required (trellis up sets it)"),
  NEXTAUTH_SECRET: z.string().min(32, "NEXTAUTH_SECRET must be at least 32 characters"),
  NEXTAUTH_URL: z.url().optional(),
  TRELLIS_CONTROL_PLANE_URL: z.url().optional(),
  // SSO: any OIDC provider, enabled when all three are set.
  TRELLIS_OIDC_ISSUER: z.url().optional(),
  TRELLIS_OIDC_CLIENT_ID: z.string().optional(),
  TRELLIS_OIDC_CLIENT_SECRET: z.string().optional(),
  // A user is matched by the provider's email claim only when the provider says it verified it
  // (`email_verified: true`). "false" also accepts a token without the claim, for providers that verify every
  // address and omit it (a `false` claim is refused either way).
  TRELLIS_OIDC_REQUIRE_EMAIL_VERIFIED: z.enum(["true", "false"]).default("true"),
  // Reverse proxies in front of the console that append the client's address to X-Forwarded-For. 0: the
  // header is anyone's to write, so sign-in failures are counted per user name only.
  TRELLIS_TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  // Console sessions (packages/services/src/console-sessions.ts): the absolute lifetime, from sign-in, that no
  // activity extends; and the idle one, renewed by each request made with the session.
  TRELLIS_SESSION_MAX_AGE_SECONDS: z.coerce
    .number()
    .int()
    .positive()
    .default(12 * 3600),
  TRELLIS_SESSION_IDLE_SECONDS: z.coerce
    .number()
    .int()
    .positive()
    .default(30 * 60),
});

let cached: z.infer<typeof ZEnv> | undefined;

export function env() {
  if (cached) return cached;
  const r = ZEnv.safeParse(process.env);
  if (!r.success) {
    throw new Error(
      "console configuration: " + r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
    );
  }
  cached = r.data;
  return cached;
}
