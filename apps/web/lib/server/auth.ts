// Sign-in for the console: user name + password (argon2id), or an OIDC provider configured by env.
// The session cookie is a next-auth JWT (httpOnly, encrypted) that carries a session id; the session itself
// lives in the database (packages/services/src/console-sessions.ts), so sign-out, disabling the user, a password
// reset or a role change end it for every copy of the cookie. The user's roles are read fresh on each call.
import "server-only";
import type { NextAuthOptions } from "next-auth";
import { getServerSession } from "next-auth";
import { cache } from "react";
import { encode as encodeJwt, type JWTEncodeParams } from "next-auth/jwt";
import CredentialsProvider from "next-auth/providers/credentials";
import { trustedClientAddress } from "@trellis/api";
import {
  AppError,
  consoleSignInLimits,
  currentConsoleSession,
  recordSsoSignIn,
  startConsoleSession,
  userForSsoEmail,
  verifyCredentialsLimited,
  type SessionLifetimes,
} from "@trellis/services";
import { safeCallbackPath } from "../safe-callback";
import { db } from "./db";
import { env } from "./env";
import { endSessionAtSignOut, isEnding } from "./sign-out";

/** Thrown by the jwt callback for a session that has ended: next-auth then clears the cookie. */
class SessionEndedError extends Error {
  override name = "SessionEndedError";
}

/** What the session cookie's JWT carries besides next-auth's own claims. */
interface SessionClaims {
  sub?: string;
  /** The session id: the key of the session's row (hashed there). */
  sid?: string;
  /** The absolute end (ms since the epoch): the JWT itself never outlives it either. */
  end?: number;
  /** When the session ends if idle from now (ms), reported by /api/auth/session; refreshed on each request. */
  endsAt?: number;
}

function buildOptions(): NextAuthOptions {
  const e = env();
  const lifetimes: SessionLifetimes = {
    absoluteMs: e.TRELLIS_SESSION_MAX_AGE_SECONDS * 1000,
    idleMs: Math.min(e.TRELLIS_SESSION_IDLE_SECONDS, e.TRELLIS_SESSION_MAX_AGE_SECONDS) * 1000,
  };
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
          return { id: user.id, name: user.name, ...(ip ? { ip } : {}), ...(userAgent ? { userAgent } : {}) };
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
    // next-auth re-issues the cookie with a fresh expiry on every /api/auth/session call; the encoder below
    // caps the JWT's own `exp` at the session's absolute end, and the database row decides before that.
    session: { strategy: "jwt", maxAge: e.TRELLIS_SESSION_MAX_AGE_SECONDS },
    jwt: {
      async encode(params: JWTEncodeParams) {
        const end = (params.token as SessionClaims | undefined)?.end;
        const maxAge = params.maxAge ?? e.TRELLIS_SESSION_MAX_AGE_SECONDS;
        const left = typeof end === "number" ? Math.floor((end - Date.now()) / 1000) : maxAge;
        return encodeJwt({ ...params, maxAge: Math.max(1, Math.min(maxAge, left)) });
      },
    },
    // Errors (e.g. a failed single sign-on) land on the login form, which explains them, rather than on
    // next-auth's own page under /api/auth (JSON-only Content-Security-Policy there).
    pages: { signIn: "/login", error: "/login" },
    providers,
    // An ended session is routine (the cookie is cleared); anything else next-auth reports is logged.
    logger: {
      error(code, metadata) {
        const name = (metadata as { name?: unknown } | undefined)?.name;
        const jose = (metadata as { code?: unknown } | undefined)?.code;
        if (code === "JWT_SESSION_ERROR" && (name === "SessionEndedError" || jose === "ERR_JWT_EXPIRED"))
          return;
        console.error(`[next-auth][error][${code}]`, metadata);
      },
      warn(code) {
        console.warn(`[next-auth][warn][${code}]`);
      },
      debug() {},
    },
    events: {
      // Sign-out ends the session on the server: a copy of the cookie is refused from now on, also when the
      // database write fails (sign-out.ts).
      async signOut({ token }) {
        await endSessionAtSignOut((token as SessionClaims | null)?.sid, { via: "console" });
      },
    },
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
        const existing = await userForSsoEmail(db(), user.email);
        if (!existing) return "/login?error=SSO_USER_UNKNOWN";
        user.id = existing.id;
        user.name = existing.name;
        // Audited as a password sign-in is (user.signIn), with the provider's id and none of its tokens. next-auth
        // gives this callback no request, so no address or user agent.
        await recordSsoSignIn(db(), existing.id, { via: "console", provider: account.provider });
        return true;
      },
      // Runs at sign-in (with `user`) and for every request that reads the session (pages, tRPC calls,
      // /api/auth/session): the first records a session, the others check it and renew its idle lifetime.
      async jwt({ token, user }) {
        const claims = token as typeof token & SessionClaims;
        if (user) {
          const meta = user as { ip?: string; userAgent?: string };
          const started = await startConsoleSession(db(), user.id, lifetimes, {
            ...(meta.ip ? { ip: meta.ip } : {}),
            ...(meta.userAgent ? { userAgent: meta.userAgent } : {}),
          });
          claims.sub = user.id;
          claims.sid = started.sid;
          claims.end = started.expiresAt.getTime();
          claims.endsAt = Math.min(claims.end, Date.now() + lifetimes.idleMs);
          return claims;
        }
        // Signed out, but the database has not heard it yet (sign-out.ts).
        if (await isEnding(claims.sid)) throw new SessionEndedError("the session has ended");
        const current = await currentConsoleSession(db(), claims.sid, lifetimes);
        if (!current || current.userId !== claims.sub) throw new SessionEndedError("the session has ended");
        claims.endsAt = current.endsAt.getTime();
        return claims;
      },
      session({ session, token }) {
        const claims = token as SessionClaims;
        if (session.user) (session.user as { id?: string }).id = claims.sub;
        // The truth, not next-auth's sliding guess: when the session ends unless it is used again.
        if (typeof claims.endsAt === "number") session.expires = new Date(claims.endsAt).toISOString();
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
 * The signed-in user's id, or null when the request has no live session: no cookie, or one whose session
 * ended (signed out, idle or past its absolute lifetime, user disabled, password reset, roles changed). The
 * jwt callback above checks the session's row and renews its idle lifetime. Once per request while a page
 * renders (React's `cache`: the layout and the page's prefetch both ask); a Route Handler asks each time.
 */
export const sessionUserId = cache(async (): Promise<string | null> => {
  const s = await getServerSession(authOptions());
  const id = (s?.user as { id?: unknown } | undefined)?.id;
  return typeof id === "string" ? id : null;
});
