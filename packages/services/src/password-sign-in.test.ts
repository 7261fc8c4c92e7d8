// The sign-in limit against a real PostgreSQL and real argon2 hashes (a database of this file's own: it
// creates users). What is counted: the user name always, the client address only when it is trusted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import {
  AppError,
  hashPassword,
  SignInLimiter,
  verifyCredentialsLimited,
  type SignInLimits,
} from "./index.js";

let tdb: TestDatabase;
let db: Db;
const PASSWORD = "the-right-password";

beforeAll(async () => {
  tdb = await createTestDatabase("services_sign_in");
  db = createDb(tdb.url);
  const passwordHash = await hashPassword(PASSWORD);
  for (const name of ["alice", "bob", "carol", "dave"])
    await db.user.create({ data: { name, passwordHash } });
}, 120_000);
afterAll(async () => {
  await db?.$disconnect();
  await tdb?.drop();
});

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: unknown) => (e instanceof AppError ? e.code : `unexpected: ${String(e)}`),
  );

const limits = (): Required<SignInLimits> => ({
  byName: new SignInLimiter(3),
  byAddress: new SignInLimiter(5),
});

/** One console sign-in: `ip` is what the request's X-Forwarded-For claims, `trusted` what a trusted proxy said. */
const signIn = (l: SignInLimits, name: string, password: string, ip?: string, trusted?: string) =>
  outcome(
    verifyCredentialsLimited(db, { name, password }, { via: "console", ...(ip ? { ip } : {}) }, l, trusted),
  );

describe("verifyCredentialsLimited", () => {
  it("counts failures per user name, whatever address each attempt claims to come from", async () => {
    const l = limits();
    for (let i = 0; i < 3; i++)
      expect(await signIn(l, "alice", "guess", `203.0.113.${i}`)).toBe("AUTH_INVALID_CREDENTIALS");
    // A fresh address and the right password: still refused, and refused before the password is checked.
    expect(await signIn(l, "alice", PASSWORD, "198.51.100.1")).toBe("AUTH_RATE_LIMITED");
    expect(await signIn(l, "ALICE", "guess", "198.51.100.2")).toBe("AUTH_RATE_LIMITED");
    expect(await signIn(l, "bob", PASSWORD, "203.0.113.0")).toBe("ok");
    // The audit log still records what each request claimed.
    const failed = await db.auditEvent.findMany({
      where: { action: "user.signIn.failed", actorName: "alice" },
    });
    expect(failed.map((e) => e.ip).sort()).toEqual(["203.0.113.0", "203.0.113.1", "203.0.113.2"]);
  });

  it("with a trusted address, also counts that address across names; success clears only the name", async () => {
    const l = limits();
    // Two guesses each at bob and carol, then one at dave: five from one address, no name at its limit.
    for (const name of ["bob", "bob", "carol", "carol", "dave"])
      expect(await signIn(l, name, "guess", undefined, "192.0.2.9")).toBe("AUTH_INVALID_CREDENTIALS");
    // Signing in with a good account does not wipe the address's count ...
    expect(await signIn(l, "dave", PASSWORD, undefined, "192.0.2.8")).toBe("ok");
    expect(await signIn(l, "dave", PASSWORD, undefined, "192.0.2.9")).toBe("AUTH_RATE_LIMITED");
    // ... while other addresses are unaffected, and the names' own counts still hold.
    expect(await signIn(l, "carol", PASSWORD, undefined, "192.0.2.10")).toBe("ok");
    expect(await signIn(l, "bob", "guess", undefined, "192.0.2.11")).toBe("AUTH_INVALID_CREDENTIALS");
    expect(await signIn(l, "bob", PASSWORD, undefined, "192.0.2.12")).toBe("AUTH_RATE_LIMITED");
  });
});
