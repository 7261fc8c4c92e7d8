// Users, roles, audit, settings and proxies over REST, through a real HTTP server on 127.0.0.1, against a
// real PostgreSQL. A database of its own: this file creates users that rest.test.ts's bootstrap must not see.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { actorForUser, bootstrap, createApiToken } from "@trellis/services";
import { handleRestRequest, openApiDocument } from "./index.js";
import { callRest, serve, type TestServer } from "./testing.js";

const ADMIN_TOKEN = "trls_users_rest_admin_token_0123456789abcdef";
let tdb: TestDatabase;
let db: Db;
let server: TestServer;
let base = "";
const tokens: Record<string, string> = {};

beforeAll(async () => {
  tdb = await createTestDatabase("api_users");
  db = createDb(tdb.url);
  await bootstrap(db, { adminPassword: "correct horse battery staple", bootstrapToken: ADMIN_TOKEN });
  tokens.admin = ADMIN_TOKEN;
  // One user per role, each with a token of their own.
  for (const [name, role, namespace] of [
    ["shop-admin", "admin", "shop"],
    ["shop-editor", "editor", "shop"],
    ["viewer", "viewer", "*"],
  ] as const) {
    const u = await db.user.create({ data: { name, roleBindings: { create: { role, namespace } } } });
    tokens[name] = (
      await createApiToken(db, await actorForUser(db, u.id, { via: "api" }), { name: "t" })
    ).token;
  }
  const svc = await db.service.create({ data: { namespace: "shop", name: "reviews" } });
  await db.workload.create({
    data: {
      serviceId: svc.id,
      version: "v2",
      address: "127.0.0.1:15006",
      identity: "spiffe://t/ns/shop/sa/reviews",
      ackedVersion: "v-abc",
    },
  });
  server = await serve((r) => handleRestRequest(db, r));
  base = `${server.url}/api/v1`;
}, 120_000);
afterAll(async () => {
  await server?.close();
  await db?.$disconnect();
  await tdb?.drop();
});

/** Calls the REST API over HTTP as `who`, with their bearer token. */
const call = (who: string, method: string, path: string, body?: unknown) =>
  callRest(server, tokens[who], method, path, body);

describe("REST users and roles", () => {
  it("GET /me tells who calls and with which rights", async () => {
    const me = await call("shop-editor", "GET", "/me");
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      name: "shop-editor",
      kind: "token",
      bindings: [{ role: "editor", namespace: "shop" }],
      effective: [{ role: "editor", namespace: "shop" }],
    });
    const anon = await fetch(`${base}/me`);
    expect(anon.status).toBe(401);
  });

  it("POST /users: admins of * create users; bad input names the field; duplicates conflict", async () => {
    const ok = await call("admin", "POST", "/users", {
      name: "ana.lee@ops",
      email: "ana@example.com",
      password: "ana-password-12",
      bindings: [{ role: "editor", namespace: "shop" }],
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ name: "ana.lee@ops", hasPassword: true, disabled: false });
    expect(JSON.stringify(ok.body)).not.toContain("ana-password-12");

    const short = await call("admin", "POST", "/users", { name: "bo", password: "short" });
    expect(short.status).toBe(422);
    expect(short.type).toBe("application/problem+json");
    expect(short.body.code).toBe("VALIDATION_FAILED");
    expect(short.body.issues?.map((i) => i.path)).toEqual(["password"]);
    const badScope = await call("admin", "POST", "/users", {
      name: "bo",
      bindings: [{ role: "root", namespace: "Not A Namespace" }],
    });
    expect(badScope.status).toBe(422);
    // The paths read as everywhere else (`bindings[0]`, once `bindings.0` from this schema check).
    expect(badScope.body.issues?.map((i) => i.path).sort()).toEqual([
      "bindings[0].namespace",
      "bindings[0].role",
    ]);

    expect((await call("admin", "POST", "/users", { name: "ana.lee@ops" })).body.code).toBe("CONFLICT");
    const denied = await call("shop-admin", "POST", "/users", { name: "sneaky" });
    expect([denied.status, denied.body.code]).toEqual([403, "FORBIDDEN"]);
  });

  it("GET /users is for admins: namespace admins see their namespace's bindings", async () => {
    const list = await call("shop-admin", "GET", "/users");
    expect(list.status).toBe(200);
    const ana = list.body.items?.find((u) => u.name === "ana.lee@ops");
    expect(ana?.bindings).toEqual([{ role: "editor", namespace: "shop" }]);
    expect((await call("viewer", "GET", "/users")).status).toBe(403);
  });

  it("grants and revokes roles by user name; escalation and the last admin are refused with their codes", async () => {
    const g = await call("shop-admin", "POST", "/users/ana.lee@ops/roles", {
      role: "approver",
      namespace: "shop",
    });
    expect(g.status).toBe(200);
    expect(g.body).toMatchObject({ changed: true });
    expect(g.body.bindings).toEqual([
      { role: "editor", namespace: "shop" },
      { role: "approver", namespace: "shop" },
    ]);
    const up = await call("shop-admin", "POST", "/users/ana.lee@ops/roles", {
      role: "viewer",
      namespace: "*",
    });
    expect([up.status, up.body.code]).toEqual([403, "ROLE_ESCALATION"]);
    const other = await call("shop-admin", "POST", "/users/ana.lee@ops/roles", { role: "viewer" });
    expect(other.body.code).toBe("ROLE_ESCALATION");
    const editor = await call("shop-editor", "POST", "/users/ana.lee@ops/roles", {
      role: "viewer",
      namespace: "shop",
    });
    expect([editor.status, editor.body.code]).toEqual([403, "FORBIDDEN"]);

    const r = await call("shop-admin", "DELETE", "/users/ana.lee@ops/roles?role=approver&namespace=shop");
    expect([r.status, r.body.changed]).toEqual([200, true]);
    const last = await call("admin", "DELETE", "/users/admin/roles?role=admin&namespace=*");
    expect(last.status).toBe(409);
    expect(last.body).toMatchObject({ code: "USER_LAST_ADMIN", status: 409 });
    expect(String(last.body.detail)).toContain("last enabled admin");
    expect((await call("admin", "POST", "/users/nobody-here/roles", { role: "viewer" })).status).toBe(404);
  });

  it("disables and enables users, and resets passwords (a generated one is returned once)", async () => {
    const d = await call("admin", "POST", "/users/shop-editor/disable", {});
    expect([d.status, d.body.disabled]).toEqual([200, true]);
    // The disabled user's own token stops working at once.
    expect((await call("shop-editor", "GET", "/me")).body.code).toBe("AUTH_TOKEN_INVALID");
    expect((await call("admin", "POST", "/users/shop-editor/enable", {})).body.disabled).toBe(false);
    expect((await call("shop-editor", "GET", "/me")).status).toBe(200);
    expect((await call("admin", "POST", "/users/admin/disable", {})).body.code).toBe("CONFLICT");

    const gen = await call("admin", "POST", "/users/shop-editor/password", {});
    expect(gen.body.generatedPassword).toMatch(/^[\w-]{24}$/);
    const set = await call("admin", "POST", "/users/shop-editor/password", { password: "chosen-password-1" });
    expect(set.body).toEqual({ name: "shop-editor", generatedPassword: null });
    expect((await call("shop-admin", "POST", "/users/shop-editor/password", {})).status).toBe(403);
  });
});

describe("REST audit log", () => {
  it("lists events newest first with filters from the query string, and pages with a cursor", async () => {
    const all = await call("admin", "GET", "/audit?limit=200");
    expect(all.status).toBe(200);
    const actions = all.body.items!.map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(["user.create", "role.grant", "role.revoke", "user.disable"]),
    );
    const first = await call("admin", "GET", "/audit?limit=1&action=role");
    expect(first.body.items).toHaveLength(1);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call(
      "admin",
      "GET",
      `/audit?limit=1&action=role&cursor=${String(first.body.nextCursor)}`,
    );
    const ids = [...first.body.items!, ...second.body.items!].map((e) => Number(e.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
    const since = encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString());
    expect((await call("admin", "GET", `/audit?since=${since}`)).body.items).toEqual([]);
    const byActor = await call("admin", "GET", "/audit?actor=shop-admin&limit=200");
    expect(byActor.body.items!.length).toBeGreaterThan(0);
    expect(byActor.body.items!.every((e) => e.actorName === "shop-admin" && e.via === "api")).toBe(true);

    // A namespace admin sees only their namespace's events.
    const scoped = await call("shop-admin", "GET", "/audit?limit=200");
    expect(scoped.body.items!.length).toBeGreaterThan(0);
    expect(scoped.body.items!.every((e) => e.namespace === "shop")).toBe(true);
    expect((await call("viewer", "GET", "/audit")).status).toBe(403);

    const bad = await call("admin", "GET", "/audit?limit=1000&since=yesterday");
    expect(bad.status).toBe(422);
    expect(bad.body.issues?.map((i) => i.path).sort()).toEqual(["limit", "since"]);
  });

  it("has no way to change or delete an event", async () => {
    for (const method of ["PUT", "PATCH", "DELETE", "POST"]) {
      const r = await call("admin", method, "/audit");
      // The path exists, for reading only: 405 (with Allow: GET), not 404.
      expect(r.status, method).toBe(405);
      expect(r.body, method).toMatchObject({ code: "METHOD_NOT_ALLOWED" });
    }
  });
});

describe("REST namespace settings and proxies", () => {
  it("reads and sets requiredApprovals (1..10) for admins of the namespace", async () => {
    expect((await call("shop-editor", "GET", "/namespaces/shop/settings")).body).toEqual({
      namespace: "shop",
      requiredApprovals: 1,
      updatedAt: null,
    });
    const set = await call("shop-admin", "PUT", "/namespaces/shop/settings", { requiredApprovals: 2 });
    expect([set.status, set.body.requiredApprovals]).toEqual([200, 2]);
    const tooMany = await call("shop-admin", "PUT", "/namespaces/shop/settings", { requiredApprovals: 11 });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.issues?.[0]?.path).toBe("requiredApprovals");
    expect(
      (await call("shop-editor", "PUT", "/namespaces/shop/settings", { requiredApprovals: 1 })).status,
    ).toBe(403);
    expect(
      (await call("shop-admin", "PUT", "/namespaces/billing/settings", { requiredApprovals: 1 })).status,
    ).toBe(403);
    const ev = await call("admin", "GET", "/audit?action=namespaceSetting&namespace=shop");
    expect(ev.body.items?.[0]).toMatchObject({
      actorName: "shop-admin",
      details: { requiredApprovals: { from: 1, to: 2 } },
    });
  });

  it("lists proxies with their config versions", async () => {
    const r = await call("viewer", "GET", "/proxies?namespace=shop");
    expect(r.status).toBe(200);
    expect(r.body.items).toMatchObject([
      {
        service: "reviews",
        version: "v2",
        ackedVersion: "v-abc",
        status: "connected",
        sync: { state: "in_sync", generation: null },
      },
    ]);
    // The sync state filters as a query parameter too (what the console's Proxies page and scripts use).
    const nacked = await call("viewer", "GET", "/proxies?namespace=shop&sync=nacked");
    expect([nacked.status, nacked.body.items]).toEqual([200, []]);
  });

  it("documents every new endpoint in the OpenAPI document", () => {
    const doc = openApiDocument("http://localhost:3000") as unknown as {
      paths: Record<string, Record<string, unknown>>;
    };
    for (const p of [
      "/me",
      "/users",
      "/users/{name}/roles",
      "/audit",
      "/namespaces/{namespace}/settings",
      "/proxies",
    ])
      expect(Object.keys(doc.paths), p).toContain(p);
    expect(Object.keys(doc.paths["/audit"]!)).toEqual(["get"]);
  });

  it("POST /tokens/sign-in gives a token for a user name and password, without a bearer token", async () => {
    const post = (body: unknown) =>
      fetch(`${base}/tokens/sign-in`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const ok = await post({ user: "ana.lee@ops", password: "ana-password-12", name: "laptop" });
    expect(ok.status).toBe(200);
    const t = (await ok.json()) as { token: string; name: string };
    expect(t.name).toBe("laptop");
    const me = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${t.token}` } });
    expect(await me.json()).toMatchObject({
      name: "ana.lee@ops",
      effective: [{ role: "editor", namespace: "shop" }],
    });
    const wrong = await post({ user: "ana.lee@ops", password: "not-her-password" });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ code: "AUTH_INVALID_CREDENTIALS" });
    expect((await post({ user: "ana.lee@ops" })).status).toBe(422);
  });
});
