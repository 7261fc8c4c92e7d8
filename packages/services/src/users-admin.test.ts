// Users, role bindings, audit log and namespace settings against a real PostgreSQL. This file uses a database
// of its own (not the package's shared one): it creates users, which bootstrap tests elsewhere must not see.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import type { Role } from "@trellis/contracts";
import {
  actorForUser,
  AppError,
  authenticateToken,
  createApiToken,
  createApiTokenWithPassword,
  createUser,
  effectiveBindings,
  getMe,
  getNamespaceSettings,
  grantRole,
  hashPassword,
  listApiTokens,
  listAuditEvents,
  listProxies,
  listUsers,
  requiredApprovalsFor,
  resetUserPassword,
  revokeRole,
  currentConsoleSession,
  startConsoleSession,
  setNamespaceSettings,
  setUserDisabled,
  SignInLimiter,
  SYSTEM_ACTOR,
  verifyCredentials,
  type Actor,
} from "./index.js";

let tdb: TestDatabase;
let db: Db;

/** The people of the role matrix, each with exactly the binding their name says. */
const PEOPLE = {
  root: [{ role: "admin", namespace: "*" }],
  shopAdmin: [{ role: "admin", namespace: "shop" }],
  billingAdmin: [{ role: "admin", namespace: "billing" }],
  shopApprover: [{ role: "approver", namespace: "shop" }],
  shopEditor: [{ role: "editor", namespace: "shop" }],
  shopViewer: [{ role: "viewer", namespace: "shop" }],
  globalViewer: [{ role: "viewer", namespace: "*" }],
  nobody: [],
} satisfies Record<string, { role: Role; namespace: string }[]>;
type Person = keyof typeof PEOPLE;
const actors = {} as Record<Person, Actor>;

beforeAll(async () => {
  tdb = await createTestDatabase("services_users");
  db = createDb(tdb.url);
  for (const [name, bindings] of Object.entries(PEOPLE)) {
    const u = await db.user.create({
      data: { name, passwordHash: null, roleBindings: { create: bindings } },
    });
    actors[name as Person] = await actorForUser(db, u.id, { via: "api" });
  }
  await db.user.create({ data: { name: "target", passwordHash: await hashPassword("target-password-1") } });
  const svc = await db.service.create({ data: { namespace: "shop", name: "reviews" } });
  const other = await db.service.create({ data: { namespace: "billing", name: "ledger" } });
  await db.workload.createMany({
    data: [
      {
        serviceId: svc.id,
        version: "v1",
        address: "10.0.0.1:15006",
        identity: "spiffe://t/ns/shop/sa/reviews",
      },
      {
        serviceId: other.id,
        version: "v1",
        address: "10.0.0.2:15006",
        identity: "spiffe://t/ns/billing/sa/ledger",
        nackedVersion: "abc",
        nackReason: "bad route",
      },
    ],
  });
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

/** Expected outcome per person; unlisted people expect `rest`. */
function expectMatrix(
  results: Record<string, string>,
  expected: Partial<Record<Person, string>>,
  rest: string,
): void {
  const want = Object.fromEntries(Object.keys(PEOPLE).map((p) => [p, expected[p as Person] ?? rest]));
  expect(results).toEqual(want);
}

async function runAll(fn: (a: Actor, who: Person) => Promise<unknown>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  // Sequential: several procedures change shared state, and the order keeps each run independent.
  for (const who of Object.keys(PEOPLE) as Person[]) out[who] = await outcome(fn(actors[who], who));
  return out;
}

describe("role matrix: every procedure × every role", () => {
  it("user.list: admins of any scope", async () => {
    expectMatrix(
      await runAll((a) => listUsers(db, a)),
      { root: "ok", shopAdmin: "ok", billingAdmin: "ok" },
      "FORBIDDEN",
    );
  });

  it("apiToken.list of another user: admins of * only, so a reset user's old tokens can be found", async () => {
    const made = await createApiToken(db, actors.shopViewer, { name: "laptop" });
    expectMatrix(
      await runAll((a) => listApiTokens(db, a, { user: "shopViewer" })),
      { root: "ok", shopViewer: "ok" }, // shopViewer: their own, by name
      "FORBIDDEN",
    );
    const listed = await listApiTokens(db, actors.root, { user: "shopViewer" });
    expect(listed.map((t) => [t.id, t.user.name])).toEqual([[made.id, "shopViewer"]]);
    expect(await outcome(listApiTokens(db, actors.root, { user: "no-such-user" }))).toBe("NOT_FOUND");
    expect((await listApiTokens(db, actors.root)).some((t) => t.id === made.id)).toBe(false);
  });

  it("user.create: admins of * only", async () => {
    expectMatrix(
      await runAll((a, who) => createUser(db, a, { name: `made-by-${who}`, password: "a-long-password-1" })),
      { root: "ok" },
      "FORBIDDEN",
    );
  });

  it("user.disable / user.enable / user.resetPassword: admins of * only", async () => {
    expectMatrix(
      await runAll((a) => setUserDisabled(db, a, { name: "target", disabled: true })),
      { root: "ok" },
      "FORBIDDEN",
    );
    expectMatrix(
      await runAll((a) => setUserDisabled(db, a, { name: "target", disabled: false })),
      { root: "ok" },
      "FORBIDDEN",
    );
    expectMatrix(
      await runAll((a) => resetUserPassword(db, a, { name: "target", password: "a-new-password-2" })),
      { root: "ok" },
      "FORBIDDEN",
    );
  });

  it("role.grant / role.revoke in a namespace: admins of it or of *; other admins are escalating", async () => {
    const grant = await runAll((a) =>
      grantRole(db, a, { name: "target", role: "editor", namespace: "shop" }),
    );
    expectMatrix(grant, { root: "ok", shopAdmin: "ok", billingAdmin: "ROLE_ESCALATION" }, "FORBIDDEN");
    const revoke = await runAll((a) =>
      revokeRole(db, a, { name: "target", role: "editor", namespace: "shop" }),
    );
    expectMatrix(revoke, { root: "ok", shopAdmin: "ok", billingAdmin: "ROLE_ESCALATION" }, "FORBIDDEN");
  });

  it("role.grant / role.revoke on *: admins of * only", async () => {
    const grant = await runAll((a) => grantRole(db, a, { name: "target", role: "viewer", namespace: "*" }));
    expectMatrix(
      grant,
      { root: "ok", shopAdmin: "ROLE_ESCALATION", billingAdmin: "ROLE_ESCALATION" },
      "FORBIDDEN",
    );
    const revoke = await runAll((a) => revokeRole(db, a, { name: "target", role: "viewer", namespace: "*" }));
    expectMatrix(
      revoke,
      { root: "ok", shopAdmin: "ROLE_ESCALATION", billingAdmin: "ROLE_ESCALATION" },
      "FORBIDDEN",
    );
  });

  it("audit.list: admins; a namespace filter needs admin of that namespace", async () => {
    expectMatrix(
      await runAll((a) => listAuditEvents(db, a, { limit: 10 })),
      { root: "ok", shopAdmin: "ok", billingAdmin: "ok" },
      "FORBIDDEN",
    );
    expectMatrix(
      await runAll((a) => listAuditEvents(db, a, { limit: 10, namespace: "shop" })),
      { root: "ok", shopAdmin: "ok" },
      "FORBIDDEN",
    );
  });

  it("settings.get: readers of the namespace; settings.set: its admins", async () => {
    expectMatrix(
      await runAll((a) => getNamespaceSettings(db, a, "shop")),
      { billingAdmin: "FORBIDDEN", nobody: "FORBIDDEN" },
      "ok",
    );
    expectMatrix(
      await runAll((a) => setNamespaceSettings(db, a, { namespace: "shop", requiredApprovals: 2 })),
      { root: "ok", shopAdmin: "ok" },
      "FORBIDDEN",
    );
  });

  it("proxy.list: readers, limited to what they may read; me: everyone", async () => {
    const seen: Record<string, string> = {};
    for (const who of Object.keys(PEOPLE) as Person[]) {
      try {
        const r = await listProxies(db, actors[who], {});
        seen[who] = r.items.map((p) => `${p.namespace}/${p.service}`).join(",");
      } catch (e) {
        seen[who] = (e as AppError).code;
      }
    }
    expect(seen).toEqual({
      root: "billing/ledger,shop/reviews",
      shopAdmin: "shop/reviews",
      billingAdmin: "billing/ledger",
      shopApprover: "shop/reviews",
      shopEditor: "shop/reviews",
      shopViewer: "shop/reviews",
      globalViewer: "billing/ledger,shop/reviews",
      nobody: "FORBIDDEN",
    });
    expectMatrix(await runAll((a) => getMe(db, a)), {}, "ok");
  });
});

describe("users", () => {
  it("creates users with a password (argon2id) or none for SSO, and refuses duplicates", async () => {
    const u = await createUser(db, actors.root, {
      name: "alice",
      email: "alice@example.com",
      displayName: "Alice",
      password: "alice-password-123",
      bindings: [
        { role: "editor", namespace: "shop" },
        { role: "editor", namespace: "shop" },
      ],
    });
    expect(u).toMatchObject({
      name: "alice",
      hasPassword: true,
      bindings: [{ role: "editor", namespace: "shop" }],
    });
    const row = await db.user.findUniqueOrThrow({ where: { name: "alice" } });
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
    const signedIn = await verifyCredentials(
      db,
      { name: "alice", password: "alice-password-123" },
      { via: "api" },
    );
    expect(signedIn.bindings).toEqual([{ role: "editor", namespace: "shop" }]);

    const sso = await createUser(db, actors.root, { name: "bob", email: "bob@example.com" });
    expect(sso.hasPassword).toBe(false);
    expect(await outcome(createUser(db, actors.root, { name: "alice" }))).toBe("CONFLICT");
    expect(await outcome(createUser(db, actors.root, { name: "carol", email: "bob@example.com" }))).toBe(
      "CONFLICT",
    );
    const ev = await db.auditEvent.findFirstOrThrow({ where: { action: "user.create", targetId: u.id } });
    expect(JSON.stringify(ev.details)).not.toContain("alice-password-123");
  });

  it("user names are unique whatever their case, also when the check is raced past", async () => {
    for (const name of ["ALICE", "Alice", "aLiCe"]) {
      const err = await createUser(db, actors.root, { name }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe("CONFLICT");
      expect((err as AppError).message).toContain('"alice"');
    }
    // Past the service's check (straight into the table): the index on lower(name) refuses it.
    await expect(db.user.create({ data: { name: "ALICE" } })).rejects.toMatchObject({ code: "P2002" });
    // Sign-in takes the name as it was created: another case is not that user.
    expect(
      await outcome(verifyCredentials(db, { name: "ALICE", password: "alice-password-123" }, { via: "api" })),
    ).toBe("AUTH_INVALID_CREDENTIALS");
  });

  it("a disabled user can neither sign in nor use their tokens; enabling restores both", async () => {
    const alice = await db.user.findUniqueOrThrow({ where: { name: "alice" } });
    const aliceActor = await actorForUser(db, alice.id, { via: "api" });
    const t = await createApiToken(db, aliceActor, { name: "ci" });
    await setUserDisabled(db, actors.root, { name: "alice", disabled: true });
    expect(
      await outcome(verifyCredentials(db, { name: "alice", password: "alice-password-123" }, { via: "api" })),
    ).toBe("AUTH_INVALID_CREDENTIALS");
    expect(await outcome(authenticateToken(db, t.token, { via: "api" }))).toBe("AUTH_TOKEN_INVALID");
    expect(await outcome(actorForUser(db, alice.id, { via: "console" }))).toBe("AUTH_REQUIRED");
    await setUserDisabled(db, actors.root, { name: "alice", disabled: false });
    expect(await outcome(authenticateToken(db, t.token, { via: "api" }))).toBe("ok");
    expect(await outcome(setUserDisabled(db, actors.root, { name: "root", disabled: true }))).toBe(
      "CONFLICT",
    );
    expect(await outcome(setUserDisabled(db, actors.root, { name: "ghost", disabled: true }))).toBe(
      "NOT_FOUND",
    );
  });

  it("resets passwords, generating one (returned once, never logged) when none is given", async () => {
    const alice = await db.user.findUniqueOrThrow({ where: { name: "alice" } });
    const lifetimes = { absoluteMs: 3_600_000, idleMs: 600_000 };
    const before = await startConsoleSession(db, alice.id, lifetimes);
    expect(await currentConsoleSession(db, before.sid, lifetimes)).not.toBeNull();
    const r = await resetUserPassword(db, actors.root, { name: "alice" });
    // Sessions from before the reset are over; one signed in afterwards stands.
    expect(await currentConsoleSession(db, before.sid, lifetimes)).toBeNull();
    const after = await startConsoleSession(db, alice.id, lifetimes);
    expect(await currentConsoleSession(db, after.sid, lifetimes)).not.toBeNull();
    expect(r.generatedPassword).toMatch(/^[\w-]{24}$/);
    expect(
      await outcome(verifyCredentials(db, { name: "alice", password: r.generatedPassword! }, { via: "api" })),
    ).toBe("ok");
    expect(
      await outcome(verifyCredentials(db, { name: "alice", password: "alice-password-123" }, { via: "api" })),
    ).toBe("AUTH_INVALID_CREDENTIALS");
    const events = await db.auditEvent.findMany({ where: { action: "user.passwordReset" } });
    expect(JSON.stringify(events.map((e) => e.details))).not.toContain(r.generatedPassword);
  });

  it("namespace admins see users with the bindings of their namespaces and of *, not others'", async () => {
    await grantRole(db, actors.root, { name: "alice", role: "viewer", namespace: "billing" });
    const bySHop = (await listUsers(db, actors.shopAdmin)).find((u) => u.name === "alice")!;
    expect(bySHop.bindings).toEqual([{ role: "editor", namespace: "shop" }]);
    const byRoot = (await listUsers(db, actors.root)).find((u) => u.name === "alice")!;
    expect(byRoot.bindings).toEqual([
      { role: "viewer", namespace: "billing" },
      { role: "editor", namespace: "shop" },
    ]);
    expect(JSON.stringify(byRoot)).not.toMatch(/argon2|passwordHash/);
  });
});

describe("role bindings", () => {
  it("grants are idempotent, audited once, and take effect at the next request", async () => {
    const first = await grantRole(db, actors.shopAdmin, { name: "bob", role: "approver", namespace: "shop" });
    const again = await grantRole(db, actors.shopAdmin, { name: "bob", role: "approver", namespace: "shop" });
    expect([first.changed, again.changed]).toEqual([true, false]);
    const bob = await db.user.findUniqueOrThrow({ where: { name: "bob" } });
    const events = await db.auditEvent.findMany({ where: { action: "role.grant", targetId: bob.id } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ namespace: "shop", actorName: "shopAdmin" });
    const bobActor = await actorForUser(db, bob.id, { via: "api" });
    expect(await outcome(getNamespaceSettings(db, bobActor, "shop"))).toBe("ok");
    await revokeRole(db, actors.shopAdmin, { name: "bob", role: "approver", namespace: "shop" });
    const after = await actorForUser(db, bob.id, { via: "api" });
    expect(await outcome(getNamespaceSettings(db, after, "shop"))).toBe("FORBIDDEN");
    expect(
      await outcome(grantRole(db, actors.root, { name: "ghost", role: "viewer", namespace: "shop" })),
    ).toBe("NOT_FOUND");
  });

  it("a token never grants above its own narrowed rights, even when its owner could", async () => {
    const rootUser = await db.user.findUniqueOrThrow({ where: { name: "root" } });
    const rootActor = await actorForUser(db, rootUser.id, { via: "api" });
    const viewerTok = await createApiToken(db, rootActor, { name: "ro", role: "viewer" });
    const shopTok = await createApiToken(db, rootActor, { name: "shop-admin", namespace: "shop" });
    const asViewer = await authenticateToken(db, viewerTok.token, { via: "api" });
    const asShop = await authenticateToken(db, shopTok.token, { via: "api" });
    const grant = (a: Actor, ns: string, role: Role = "editor") =>
      outcome(grantRole(db, a, { name: "bob", role, namespace: ns }));
    expect(await grant(asViewer, "shop")).toBe("FORBIDDEN");
    expect(await grant(asShop, "*")).toBe("ROLE_ESCALATION");
    expect(await grant(asShop, "billing")).toBe("ROLE_ESCALATION");
    expect(await grant(asShop, "shop", "admin")).toBe("ok");
    expect(await outcome(createUser(db, asShop, { name: "eve" }))).toBe("FORBIDDEN");

    const me = await getMe(db, asShop);
    expect(me).toMatchObject({
      name: "root",
      kind: "token",
      token: { name: "shop-admin", namespace: "shop", role: null },
      bindings: [{ role: "admin", namespace: "*" }],
      effective: [{ role: "admin", namespace: "shop" }],
    });
  });

  it("effective rights drop what a * binding already covers and keep the highest role per namespace", () => {
    expect(
      effectiveBindings([
        { role: "viewer", namespace: "shop" },
        { role: "editor", namespace: "*" },
        { role: "approver", namespace: "shop" },
        { role: "editor", namespace: "billing" },
      ]),
    ).toEqual([
      { role: "editor", namespace: "*" },
      { role: "approver", namespace: "shop" },
    ]);
  });
});

describe("the last admin of *", () => {
  it("cannot lose the role or be disabled, by anyone, including the system", async () => {
    const r2 = await createUser(db, actors.root, {
      name: "root2",
      password: "root2-password-1",
      bindings: [{ role: "admin", namespace: "*" }],
    });
    const root2 = await actorForUser(db, r2.id, { via: "api" });
    // Two global admins: one may remove the other.
    await revokeRole(db, actors.root, { name: "root2", role: "admin", namespace: "*" });
    expect(await outcome(revokeRole(db, actors.root, { name: "root", role: "admin", namespace: "*" }))).toBe(
      "USER_LAST_ADMIN",
    );
    expect(await outcome(setUserDisabled(db, SYSTEM_ACTOR, { name: "root", disabled: true }))).toBe(
      "USER_LAST_ADMIN",
    );
    // root2's rights are read afresh, as every request does: with no role left, it may manage none.
    const root2Now = await actorForUser(db, root2.userId!, { via: "api" });
    expect(await outcome(revokeRole(db, root2Now, { name: "root", role: "admin", namespace: "*" }))).toBe(
      "FORBIDDEN",
    );
    // A disabled admin does not count as the remaining one.
    await grantRole(db, actors.root, { name: "root2", role: "admin", namespace: "*" });
    await setUserDisabled(db, actors.root, { name: "root2", disabled: true });
    expect(await outcome(revokeRole(db, actors.root, { name: "root", role: "admin", namespace: "*" }))).toBe(
      "USER_LAST_ADMIN",
    );
    await setUserDisabled(db, actors.root, { name: "root2", disabled: false });
    const globals = await db.roleBinding.count({ where: { role: "admin", namespace: "*" } });
    expect(globals).toBe(2);
  });

  it("survives two admins revoking each other at the same moment: exactly one wins", async () => {
    const root2 = await actorForUser(db, (await db.user.findUniqueOrThrow({ where: { name: "root2" } })).id, {
      via: "api",
    });
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all([
        outcome(revokeRole(db, actors.root, { name: "root2", role: "admin", namespace: "*" })),
        outcome(revokeRole(db, root2, { name: "root", role: "admin", namespace: "*" })),
      ]);
      expect(results.sort()).toEqual(["USER_LAST_ADMIN", "ok"]);
      expect(await db.roleBinding.count({ where: { role: "admin", namespace: "*" } })).toBe(1);
      // Put the loser back for the next round.
      const holder = await db.roleBinding.findFirstOrThrow({
        where: { role: "admin", namespace: "*" },
        include: { user: true },
      });
      await grantRole(db, SYSTEM_ACTOR, {
        name: holder.user.name === "root" ? "root2" : "root",
        role: "admin",
        namespace: "*",
      });
    }
  });
});

describe("audit log", () => {
  it("filters by actor, action family, target, namespace and time, newest first, with a cursor", async () => {
    const shopEvents = await listAuditEvents(db, actors.shopAdmin, { limit: 200 });
    expect(shopEvents.items.length).toBeGreaterThan(0);
    expect(shopEvents.items.every((e) => e.namespace === "shop")).toBe(true);
    const all = await listAuditEvents(db, actors.root, { limit: 200 });
    expect(all.items.some((e) => e.namespace === null)).toBe(true);
    const ids = all.items.map((e) => BigInt(e.id));
    expect([...ids].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))).toEqual(ids);

    const roles = await listAuditEvents(db, actors.root, { limit: 200, action: "role" });
    expect(new Set(roles.items.map((e) => e.action))).toEqual(new Set(["role.grant", "role.revoke"]));
    const byShopAdmin = await listAuditEvents(db, actors.root, { limit: 200, actor: "shopAdmin" });
    expect(byShopAdmin.items.length).toBeGreaterThan(0);
    expect(byShopAdmin.items.every((e) => e.actorName === "shopAdmin")).toBe(true);
    const bob = await db.user.findUniqueOrThrow({ where: { name: "bob" } });
    const aboutBob = await listAuditEvents(db, actors.root, {
      limit: 200,
      targetKind: "User",
      targetId: bob.id,
    });
    expect(aboutBob.items.length).toBeGreaterThanOrEqual(3);
    expect(aboutBob.items.every((e) => e.targetId === bob.id)).toBe(true);
    const future = await listAuditEvents(db, actors.root, {
      limit: 10,
      since: new Date(Date.now() + 60_000),
    });
    expect(future.items).toEqual([]);
    const past = await listAuditEvents(db, actors.root, { limit: 10, until: new Date(0) });
    expect(past.items).toEqual([]);

    // Walk every page of two: the same events as one big page, none twice.
    const walked: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 500; i++) {
      const page = await listAuditEvents(db, actors.root, { limit: 2, ...(cursor ? { cursor } : {}) });
      walked.push(...page.items.map((e) => e.id));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(walked).toEqual(all.items.map((e) => e.id));
  });

  it("cannot be changed or erased, not even with direct SQL", async () => {
    const count = await db.auditEvent.count();
    await expect(db.auditEvent.deleteMany({})).rejects.toThrow(/append-only/);
    await expect(db.auditEvent.updateMany({ data: { actorName: "someone-else" } })).rejects.toThrow(
      /append-only/,
    );
    expect(await db.auditEvent.count()).toBe(count);
  });
});

describe("namespace settings", () => {
  it("defaults to one approval, stores 1..10, and audits the change with before and after", async () => {
    expect(await getNamespaceSettings(db, actors.shopViewer, "billing").catch((e: AppError) => e.code)).toBe(
      "FORBIDDEN",
    );
    expect(await getNamespaceSettings(db, actors.billingAdmin, "billing")).toEqual({
      namespace: "billing",
      requiredApprovals: 1,
      updatedAt: null,
    });
    const set = await setNamespaceSettings(db, actors.billingAdmin, {
      namespace: "billing",
      requiredApprovals: 3,
    });
    expect(set.requiredApprovals).toBe(3);
    expect(await requiredApprovalsFor(db, "billing")).toBe(3);
    expect(await requiredApprovalsFor(db, "elsewhere")).toBe(1);
    const ev = await db.auditEvent.findFirstOrThrow({
      where: { action: "namespaceSetting.update", namespace: "billing" },
      orderBy: { id: "desc" },
    });
    expect(ev.details).toEqual({ requiredApprovals: { from: 1, to: 3 } });
  });
});

describe("password sign-in for an API token", () => {
  it("gives a token with at most the user's rights, and counts failures per user name", async () => {
    await createUser(db, actors.root, {
      name: "dora",
      password: "dora-password-12",
      bindings: [{ role: "editor", namespace: "shop" }],
    });
    const limiter = new SignInLimiter(3);
    const signIn = (password: string, user = "dora") =>
      createApiTokenWithPassword(db, { user, password, name: "laptop" }, { via: "cli" }, limiter);
    const t = await signIn("dora-password-12");
    const asDora = await authenticateToken(db, t.token, { via: "api" });
    expect(asDora.bindings).toEqual([{ role: "editor", namespace: "shop" }]);
    expect(await outcome(grantRole(db, asDora, { name: "bob", role: "viewer", namespace: "shop" }))).toBe(
      "FORBIDDEN",
    );

    for (let i = 0; i < 3; i++)
      expect(await outcome(signIn("wrong-password!"))).toBe("AUTH_INVALID_CREDENTIALS");
    // Locked for this name, even with the right password; other names are not (bob is SSO-only: no password).
    expect(await outcome(signIn("dora-password-12"))).toBe("AUTH_RATE_LIMITED");
    expect(await outcome(signIn("whatever-it-is", "bob"))).toBe("AUTH_INVALID_CREDENTIALS");
    // Disabled users cannot get one this way.
    await setUserDisabled(db, actors.root, { name: "alice", disabled: true });
    const aliceLimiter = new SignInLimiter();
    const alicePw = await resetUserPassword(db, actors.root, { name: "alice" });
    expect(
      await outcome(
        createApiTokenWithPassword(
          db,
          { user: "alice", password: alicePw.generatedPassword!, name: "x" },
          { via: "cli" },
          aliceLimiter,
        ),
      ),
    ).toBe("AUTH_INVALID_CREDENTIALS");
    await setUserDisabled(db, actors.root, { name: "alice", disabled: false });
    const events = await db.auditEvent.findMany({ where: { actorName: "dora" }, orderBy: { id: "asc" } });
    expect(events.map((e) => e.action)).toEqual(
      expect.arrayContaining(["user.signIn", "apiToken.create", "user.signIn.failed"]),
    );
  });
});
