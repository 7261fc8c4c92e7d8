// The console's password sign-in as next-auth calls it (the credentials provider's `authorize`), with the
// real limiter, real argon2 hashes and a real PostgreSQL (a database of this file's own): an X-Forwarded-For
// header, which any client can write, must not buy more guesses.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { hashPassword } from "@trellis/services";

const PASSWORD = "the-right-password";
/** Failed sign-ins a user name gets in the window (consoleSignInLimits). */
const MAX_FAILURES = 10;

let tdb: TestDatabase;
let db: Db;

type Authorize = (
  credentials: Record<string, string>,
  req: { headers: Record<string, string> },
) => Promise<{ id: string; name: string } | null>;

/** A fresh copy of auth.ts (its env and options are read once per process), with TRELLIS_TRUST_PROXY set so. */
async function authorizeWith(trustProxy: string | undefined): Promise<Authorize> {
  vi.resetModules();
  if (trustProxy === undefined) delete process.env.TRELLIS_TRUST_PROXY;
  else process.env.TRELLIS_TRUST_PROXY = trustProxy;
  const { authOptions } = await import("./auth");
  const credentials = authOptions().providers.find((p) => p.id === "credentials");
  return (credentials as unknown as { options: { authorize: Authorize } }).options.authorize;
}

const attempt = (authorize: Authorize, username: string, password: string, forwardedFor: string) =>
  authorize({ username, password }, { headers: { "x-forwarded-for": forwardedFor } }).then(
    (user) => (user ? "ok" : "wrong password"),
    (e: unknown) => (e instanceof Error ? e.message : String(e)),
  );

beforeAll(async () => {
  tdb = await createTestDatabase("web_auth");
  db = createDb(tdb.url);
  const passwordHash = await hashPassword(PASSWORD);
  for (const name of ["alice", "bob", "carol", "erin", "frank"])
    await db.user.create({ data: { name, passwordHash } });
  process.env.DATABASE_URL = tdb.url;
  process.env.NEXTAUTH_SECRET ??= "a-test-secret-of-at-least-32-characters";
}, 120_000);
afterAll(async () => {
  await (globalThis as { trellisDb?: Db }).trellisDb?.$disconnect();
  await db?.$disconnect();
  await tdb?.drop();
});

describe("console sign-in rate limit", () => {
  it("counts failures per user name, whatever X-Forwarded-For each attempt sends", async () => {
    const authorize = await authorizeWith(undefined);
    for (let i = 0; i < MAX_FAILURES; i++)
      expect(await attempt(authorize, "alice", "guess", `203.0.113.${i}`)).toBe("wrong password");
    expect(await attempt(authorize, "alice", PASSWORD, "198.51.100.1")).toBe("AUTH_RATE_LIMITED");
    expect(await attempt(authorize, "bob", PASSWORD, "203.0.113.1")).toBe("ok");
    // No proxy is trusted, so the audit log records no address: none of the forged ones.
    const failed = await db.auditEvent.findMany({
      where: { action: "user.signIn.failed", actorName: "alice" },
    });
    expect(failed).toHaveLength(MAX_FAILURES);
    expect(failed.map((e) => e.ip)).toEqual(failed.map(() => null));
  }, 60_000);

  it("behind a trusted proxy still counts the name, and records the address the proxy reported", async () => {
    const authorize = await authorizeWith("1");
    // Each attempt forges a first entry and arrives (as the proxy says) from a different address.
    for (let i = 0; i < MAX_FAILURES; i++)
      expect(await attempt(authorize, "carol", "guess", `10.6.6.${i}, 203.0.113.${i}`)).toBe(
        "wrong password",
      );
    expect(await attempt(authorize, "carol", PASSWORD, "198.51.100.2")).toBe("AUTH_RATE_LIMITED");
    const failed = await db.auditEvent.findMany({
      where: { action: "user.signIn.failed", actorName: "carol" },
    });
    expect(failed.map((e) => e.ip).every((ip) => ip?.startsWith("203.0.113."))).toBe(true);
  }, 60_000);
});

describe("refused sign-ins in the audit log", () => {
  it("records a rate-limited attempt (once a minute per name, never the password), for users and unknown names", async () => {
    const authorize = await authorizeWith(undefined);
    for (let i = 0; i < MAX_FAILURES; i++)
      expect(await attempt(authorize, "erin", `guess-${i}`, "203.0.113.9")).toBe("wrong password");
    for (const password of [PASSWORD, "guess-a", "guess-b"])
      expect(await attempt(authorize, "erin", password, "203.0.113.9")).toBe("AUTH_RATE_LIMITED");
    const erin = await db.user.findUniqueOrThrow({ where: { name: "erin" } });
    const limited = await db.auditEvent.findMany({
      where: { action: "user.signIn.rateLimited", targetId: erin.id },
    });
    expect(limited).toHaveLength(1);
    expect(limited[0]).toMatchObject({
      actorId: erin.id,
      actorName: "erin",
      targetId: erin.id,
      via: "console",
    });
    expect(limited[0]!.details).toEqual({ limit: "name", userExists: true });
    expect(
      JSON.stringify(limited, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)),
    ).not.toContain(PASSWORD);

    // A name nobody has is shut the same way, and recorded by the name tried.
    for (let i = 0; i <= MAX_FAILURES; i++) await attempt(authorize, "mallory", `guess-${i}`, "203.0.113.9");
    const ghost = await db.auditEvent.findMany({
      where: { action: "user.signIn.rateLimited", actorName: "mallory" },
    });
    expect(ghost).toHaveLength(1);
    expect(ghost[0]).toMatchObject({ actorId: null, targetId: null });
    expect(ghost[0]!.details).toEqual({ limit: "name", userExists: false });
  }, 60_000);
});

describe("single sign-on", () => {
  type SignIn = (params: {
    user: { id: string; name?: string | null; email?: string | null };
    account: { provider: string };
    profile: Record<string, unknown>;
  }) => Promise<string | boolean>;

  /** next-auth's signIn callback from a fresh copy of auth.ts, with an OIDC provider configured. */
  async function signInWith(requireVerified: string | undefined): Promise<SignIn> {
    vi.resetModules();
    process.env.TRELLIS_OIDC_ISSUER = "https://sso.example.com";
    process.env.TRELLIS_OIDC_CLIENT_ID = "trellis";
    process.env.TRELLIS_OIDC_CLIENT_SECRET = "a-client-secret";
    if (requireVerified === undefined) delete process.env.TRELLIS_OIDC_REQUIRE_EMAIL_VERIFIED;
    else process.env.TRELLIS_OIDC_REQUIRE_EMAIL_VERIFIED = requireVerified;
    const { authOptions } = await import("./auth");
    return authOptions().callbacks!.signIn as unknown as SignIn;
  }

  afterAll(() => {
    for (const k of [
      "TRELLIS_OIDC_ISSUER",
      "TRELLIS_OIDC_CLIENT_ID",
      "TRELLIS_OIDC_CLIENT_SECRET",
      "TRELLIS_OIDC_REQUIRE_EMAIL_VERIFIED",
    ])
      delete process.env[k];
  });

  const asDave = (signIn: SignIn, claims: Record<string, unknown>) =>
    signIn({
      user: { id: "provider-subject", email: "dave@example.com" },
      account: { provider: "oidc" },
      profile: { sub: "provider-subject", email: "dave@example.com", ...claims },
    });

  it("matches a user by email only when the provider says it verified the address", async () => {
    await db.user.create({ data: { name: "dave", email: "dave@example.com" } });
    const signIn = await signInWith(undefined);
    expect(await asDave(signIn, { email_verified: true })).toBe(true);
    expect(await asDave(signIn, { email_verified: "true" })).toBe(true);
    // Before, a token without the claim was taken at its word.
    expect(await asDave(signIn, {})).toBe("/login?error=SSO_EMAIL_UNVERIFIED");
    expect(await asDave(signIn, { email_verified: false })).toBe("/login?error=SSO_EMAIL_UNVERIFIED");
    expect(
      await signIn({
        user: { id: "s2", email: "nobody@example.com" },
        account: { provider: "oidc" },
        profile: { sub: "s2", email: "nobody@example.com", email_verified: true },
      }),
    ).toBe("/login?error=SSO_USER_UNKNOWN");
  });

  it("accepts a token without the claim when told to, never one that says unverified", async () => {
    const signIn = await signInWith("false");
    expect(await asDave(signIn, {})).toBe(true);
    expect(await asDave(signIn, { email_verified: false })).toBe("/login?error=SSO_EMAIL_UNVERIFIED");
  });

  it("records a single sign-on as user.signIn, as a password sign-in is, without the provider's tokens", async () => {
    const signIn = await signInWith(undefined);
    const dave = await db.user.findUniqueOrThrow({ where: { name: "dave" } });
    const before = await db.auditEvent.count({ where: { action: "user.signIn", actorId: dave.id } });
    const tokens = {
      access_token: "at-SECRET-0123",
      id_token: "it-SECRET-4567",
      refresh_token: "rt-SECRET-89ab",
    };
    const accepted = await (signIn as unknown as (p: object) => Promise<string | boolean>)({
      user: { id: "provider-subject", email: "dave@example.com" },
      account: { provider: "oidc", type: "oauth", providerAccountId: "provider-subject", ...tokens },
      profile: { sub: "provider-subject", email: "dave@example.com", email_verified: true },
    });
    expect(accepted).toBe(true);
    const events = await db.auditEvent.findMany({
      where: { action: "user.signIn", actorId: dave.id },
      orderBy: { id: "asc" },
    });
    expect(events).toHaveLength(before + 1);
    expect(events.at(-1)).toMatchObject({
      actorName: "dave",
      targetKind: "User",
      targetId: dave.id,
      via: "console",
    });
    expect(events.at(-1)!.details).toEqual({ method: "sso", provider: "oidc" });
    const text = JSON.stringify(events, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));
    for (const t of Object.values(tokens)) expect(text).not.toContain(t);
    expect((await db.user.findUniqueOrThrow({ where: { id: dave.id } })).lastLoginAt).not.toBeNull();
    // A refused single sign-on is not a sign-in.
    expect(await asDave(signIn, { email_verified: false })).toBe("/login?error=SSO_EMAIL_UNVERIFIED");
    expect(await db.auditEvent.count({ where: { action: "user.signIn", actorId: dave.id } })).toBe(
      before + 1,
    );
  });
});

describe("sign-out when the database write fails", () => {
  type Jwt = (p: { token: Record<string, unknown>; user?: unknown }) => Promise<Record<string, unknown>>;
  type SignOut = (p: { token: Record<string, unknown> }) => Promise<void>;

  it("retries once, then refuses the session's cookie anyway, and ends its row at the next contact", async () => {
    const authorize = await authorizeWith(undefined);
    const { authOptions } = await import("./auth");
    const { db: webDb } = await import("./db");
    const jwt = authOptions().callbacks!.jwt as unknown as Jwt;
    const signOut = authOptions().events!.signOut as unknown as SignOut;
    const user = await authorize({ username: "frank", password: PASSWORD }, { headers: {} });
    const token = await jwt({ token: {}, user });
    // A copy of the cookie, as a stolen one would be: good until sign-out.
    await expect(jwt({ token: { ...token } })).resolves.toMatchObject({ sub: user!.id });

    const sessions = webDb().consoleSession;
    const deleteMany = vi.spyOn(sessions, "deleteMany").mockRejectedValue(new Error("connection reset"));
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      // next-auth logs an error the event throws and clears the browser's cookie all the same (core/routes/signout).
      await signOut({ token }).catch(() => {});
      expect(deleteMany).toHaveBeenCalledTimes(2);
      expect(await db.consoleSession.count({ where: { userId: user!.id } })).toBe(1);
      // The row is still there, and the database still fails: the cookie is refused all the same.
      await expect(jwt({ token: { ...token } })).rejects.toThrow(/ended/);
    } finally {
      deleteMany.mockRestore();
      errors.mockRestore();
    }
    // The database is back: the next request with the cookie is refused, and ends the row (audited once).
    await expect(jwt({ token: { ...token } })).rejects.toThrow(/ended/);
    expect(await db.consoleSession.count({ where: { userId: user!.id } })).toBe(0);
    expect(await db.auditEvent.count({ where: { action: "user.signOut", actorId: user!.id } })).toBe(1);
    await expect(jwt({ token: { ...token } })).rejects.toThrow(/ended/);
  });
});
