// Sign-in for the console: user name + password (argon2id), or an OIDC provider configured by env.
// Sessions are JWTs in an httpOnly cookie; the user's roles are read fresh from the database on each call.
import type { NextAuthOptions } from "next-auth";
import { getServerSession } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { trustedClientAddress } from "@trellis/api";
import { AppError, consoleSignInLimits, sessionIsCurrent, verifyCredentialsLimited } from "@trellis/services";
import { safeCallbackPath } from "../safe-callback";
import { db } from "./db";
import { env } from "./env";

function buildOptions(): NextAuthOptions {
  const e = env();
  const providers: NextAuthOptions["providers"] = [
    CredentialsProvider({
      name: "Trellis account",
      credentials: {
        username: { label: "User name", type: "text" },
        password: { label: "Password", type: "password" },
      },
      async authorize(credentials, req) {
        const name = String(credentials?.username ?? "");
        const password = String(credentials?.password ?? "");
        const headers = (req?.headers ?? {}) as Record<string, string | undefined>;
        const forwardedFor = headers["x-forwarded-for"];
        // Failures count against the name, and against the address only when a trusted proxy reported it:
        // see consoleSignInLimits. The audit log records that address too, and none otherwise: the header's
        // first entry is the client's to write.
        const ip = trustedClientAddress(forwardedFor, e.TRELLIS_TRUST_PROXY);
        const userAgent = headers["user-agent"];
        try {
          const user = await verifyCredentialsLimited(
            db(),
            { name, password },
            { via: "console", ...(ip ? { ip } : {}), ...(userAgent ? { userAgent } : {}) },
            consoleSignInLimits,
            ip,
          );
          return { id: user.id, name: user.name };
        } catch (err) {
          if (err instanceof AppError && err.code === "AUTH_INVALID_CREDENTIALS") return null;
          // next-auth turns a thrown Error's message into the ?error= query parameter the form shows.
          if (err instanceof AppError && err.code === "AUTH_RATE_LIMITED")
            throw new Error("AUTH_RATE_LIMITED", { cause: err });
          throw err;
        }
      },
    }),
  ];
  if (e.TRELLIS_OIDC_ISSUER && e.TRELLIS_OIDC_CLIENT_ID && e.TRELLIS_OIDC_CLIENT_SECRET) {
    providers.push({
      id: "oidc",
      name: "Single sign-on",
      type: "oauth",
      wellKnown: new URL(
        ".well-known/openid-configuration",
        e.TRELLIS_OIDC_ISSUER.endsWith("/") ? e.TRELLIS_OIDC_ISSUER : e.TRELLIS_OIDC_ISSUER + "/",
      ).toString(),
      clientId: e.TRELLIS_OIDC_CLIENT_ID,
      clientSecret: e.TRELLIS_OIDC_CLIENT_SECRET,
      authorization: { params: { scope: "openid email profile" } },
      idToken: true,
      checks: ["pkce", "state"],
      profile(p: { sub: string; email?: string; name?: string; preferred_username?: string }) {
        return {
          id: p.sub,
          name: p.preferred_username ?? p.name ?? p.email ?? p.sub,
          email: p.email ?? null,
        };
      },
    });
  }
  return {
    secret: e.NEXTAUTH_SECRET,
    session: { strategy: "jwt", maxAge: e.TRELLIS_SESSION_MAX_AGE_SECONDS },
    pages: { signIn: "/login" },
    providers,
    callbacks: {
      // Where next-auth sends the browser (single sign-on, sign-out): the console's own origin only.
      redirect({ url, baseUrl }) {
        return new URL(safeCallbackPath(url, baseUrl), baseUrl).toString();
      },
      async signIn({ user, account, profile }) {
        if (account?.provider !== "oidc") return true;
        // An address the provider has not verified proves nothing: matching it would let anyone who can
        // register that address at the provider sign in as the Trellis user who has it. A token that does
        // not say is refused too, unless TRELLIS_OIDC_REQUIRE_EMAIL_VERIFIED=false.
        const verified = (profile as { email_verified?: unknown } | undefined)?.email_verified;
        const isVerified = verified === true || verified === "true"; // some providers send a string
        const unsaid = verified === undefined || verified === null;
        if (!isVerified && !(unsaid && e.TRELLIS_OIDC_REQUIRE_EMAIL_VERIFIED === "false"))
          return "/login?error=SSO_EMAIL_UNVERIFIED";
        // SSO users must already exist (matched by email): an admin grants roles before first sign-in.
        const email = user.email ?? undefined;
        const existing = email ? await db().user.findUnique({ where: { email } }) : null;
        if (!existing || existing.disabled) return "/login?error=SSO_USER_UNKNOWN";
        user.id = existing.id;
        user.name = existing.name;
        return true;
      },
      jwt({ token, user }) {
        // `iat` is renewed whenever next-auth re-encodes the cookie; when the user signed in is not.
        if (user) {
          token.sub = user.id;
          token.signedInAt = Date.now();
        }
        return token;
      },
      session({ session, token }) {
        if (session.user) {
          const u = session.user as { id?: string; signedInAt?: number };
          u.id = token.sub;
          if (typeof token.signedInAt === "number") u.signedInAt = token.signedInAt;
        }
        return session;
      },
    },
  };
}

/** Whether single sign-on is configured (the login page then offers it). */
export function ssoEnabled(): boolean {
  return authOptions().providers.some((p) => p.id === "oidc");
}

let options: NextAuthOptions | undefined;
export function authOptions(): NextAuthOptions {
  options ??= buildOptions();
  return options;
}

/**
 * The signed-in user's id, or null: also when the session was signed in before the user's password was
 * reset, or the user is disabled (the cookie is still valid; the session is not).
 */
export async function sessionUserId(): Promise<string | null> {
  const s = await getServerSession(authOptions());
  const u = s?.user as { id?: string; signedInAt?: number } | undefined;
  if (!u?.id) return null;
  return (await sessionIsCurrent(db(), u.id, u.signedInAt)) ? u.id : null;
}
