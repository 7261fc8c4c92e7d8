import { afterAll, describe, expect, inject, it } from "vitest";
import { createDb } from "@trellis/db";
import {
  AppError,
  authenticateToken,
  bootstrap,
  createApiToken,
  listServices,
  narrowBindings,
  verifyCredentials,
  type Actor,
} from "./index.js";

const db = createDb(inject("databaseUrl"));
afterAll(() => db.$disconnect());

const code = (p: Promise<unknown>) =>
  p.then(
    () => "resolved",
    (e: unknown) => (e instanceof AppError ? e.code : String(e)),
  );

describe("bootstrap and sign-in", () => {
  it("creates the admin once, with a generated password, and a bootstrap token with the exact value", async () => {
    const token = "trls_bootstrap_value_for_tests_0123456789";
    const first = await bootstrap(db, { bootstrapToken: token });
    expect(first.adminCreated).toBe(true);
    expect(first.generatedPassword).toMatch(/^[\w-]{20,}$/);
    expect(first.tokenCreated).toBe(true);

    const again = await bootstrap(db, { bootstrapToken: token });
    expect(again).toEqual({ adminCreated: false, tokenCreated: false });

    const user = await verifyCredentials(
      db,
      { name: "admin", password: first.generatedPassword! },
      { via: "console" },
    );
    expect(user.bindings).toEqual([{ role: "admin", namespace: "*" }]);
    const actor = await authenticateToken(db, token, { via: "api" });
    expect(actor).toMatchObject({
      kind: "token",
      name: "admin",
      bindings: [{ role: "admin", namespace: "*" }],
    });

    const stored = await db.user.findUniqueOrThrow({ where: { name: "admin" } });
    expect(stored.passwordHash).toMatch(/^\$argon2id\$/);
    expect(stored.passwordHash).not.toContain(first.generatedPassword);
  });

  it("answers wrong name and wrong password the same way", async () => {
    expect(
      await code(verifyCredentials(db, { name: "admin", password: "not-the-password!" }, { via: "console" })),
    ).toBe("AUTH_INVALID_CREDENTIALS");
    expect(
      await code(
        verifyCredentials(db, { name: "nobody", password: "whatever-password" }, { via: "console" }),
      ),
    ).toBe("AUTH_INVALID_CREDENTIALS");
    const failed = await db.auditEvent.count({ where: { action: "user.signIn.failed" } });
    expect(failed).toBe(1);
  });

  it("rejects a too-short admin password from the environment", async () => {
    expect(await code(bootstrap(db, { adminPassword: "short" }))).toBe("VALIDATION_FAILED");
  });
});

describe("API tokens", () => {
  it("never grant more than the owner holds", () => {
    const owner = [
      { role: "approver" as const, namespace: "shop" },
      { role: "viewer" as const, namespace: "*" },
    ];
    expect(narrowBindings(owner, "editor", null)).toEqual([
      { role: "editor", namespace: "shop" },
      { role: "viewer", namespace: "*" },
    ]);
    expect(narrowBindings(owner, null, "billing")).toEqual([{ role: "viewer", namespace: "billing" }]);
    expect(narrowBindings(owner, "admin", "shop")).toEqual([
      { role: "approver", namespace: "shop" },
      { role: "viewer", namespace: "shop" },
    ]);
  });

  it("store only a hash, and stop working when revoked or expired", async () => {
    const admin = await db.user.findUniqueOrThrow({ where: { name: "admin" } });
    const actor: Actor = {
      kind: "user",
      userId: admin.id,
      name: "admin",
      bindings: [{ role: "admin", namespace: "*" }],
      via: "api",
    };
    const t = await createApiToken(db, actor, { name: "ci", role: "viewer" });
    const row = await db.apiToken.findUniqueOrThrow({ where: { id: t.id } });
    expect(row.tokenHash).not.toContain(t.token);
    expect((await authenticateToken(db, t.token, { via: "api" })).bindings).toEqual([
      { role: "viewer", namespace: "*" },
    ]);

    await db.apiToken.update({ where: { id: t.id }, data: { revokedAt: new Date() } });
    expect(await code(authenticateToken(db, t.token, { via: "api" }))).toBe("AUTH_TOKEN_INVALID");

    const e = await createApiToken(db, actor, { name: "old", expiresAt: new Date(Date.now() - 1000) });
    expect(await code(authenticateToken(db, e.token, { via: "api" }))).toBe("AUTH_TOKEN_INVALID");
    expect(await code(authenticateToken(db, "trls_doesnotexist_000000000000000", { via: "api" }))).toBe(
      "AUTH_TOKEN_INVALID",
    );
  });
});

describe("listServices", () => {
  it("shows only the namespaces the actor may read", async () => {
    const shop = await db.service.create({ data: { namespace: "shop", name: "reviews", vip: "240.0.0.7" } });
    await db.service.create({ data: { namespace: "billing", name: "ledger" } });
    await db.workload.createMany({
      data: [
        {
          serviceId: shop.id,
          version: "v2",
          address: "10.0.0.2:15006",
          identity: "spiffe://t/ns/shop/sa/reviews",
        },
        {
          serviceId: shop.id,
          version: "v1",
          address: "10.0.0.1:15006",
          identity: "spiffe://t/ns/shop/sa/reviews",
          status: "disconnected",
        },
      ],
    });
    const viewer: Actor = {
      kind: "user",
      userId: null,
      name: "v",
      bindings: [{ role: "viewer", namespace: "shop" }],
      via: "api",
    };
    const all = await listServices(db, viewer, {});
    expect(all.items.map((s) => `${s.namespace}/${s.name}`)).toEqual(["shop/reviews"]);
    expect(all.items[0]).toMatchObject({
      versions: ["v1", "v2"],
      workloads: 2,
      healthyWorkloads: 1,
      vip: "240.0.0.7",
    });
    // A service without a VIP yet (made before VIPs existed, until a replica gives it one) says so.
    const admin: Actor = { ...viewer, bindings: [{ role: "viewer", namespace: "*" }] };
    expect((await listServices(db, admin, { namespace: "billing" })).items[0]?.vip).toBeNull();
    expect(await code(listServices(db, viewer, { namespace: "billing" }))).toBe("FORBIDDEN");
    const nobody: Actor = { ...viewer, bindings: [] };
    expect(await code(listServices(db, nobody, {}))).toBe("FORBIDDEN");
  });
});

describe("API tokens minted by tokens", () => {
  it("cannot exceed the rights of the token that creates them", async () => {
    const admin = await db.user.findUniqueOrThrow({ where: { name: "admin" } });
    const asUser: Actor = {
      kind: "user",
      userId: admin.id,
      name: "admin",
      bindings: [{ role: "admin", namespace: "*" }],
      via: "api",
    };
    const viewer = await createApiToken(db, asUser, { name: "viewer", role: "viewer" });
    const asViewerToken = await authenticateToken(db, viewer.token, { via: "api" });
    expect(await code(createApiToken(db, asViewerToken, { name: "escalate" }))).toBe("FORBIDDEN");
    expect(await code(createApiToken(db, asViewerToken, { name: "escalate", role: "admin" }))).toBe(
      "FORBIDDEN",
    );
    expect(await code(createApiToken(db, asViewerToken, { name: "same", role: "viewer" }))).toBe("resolved");
  });
});
