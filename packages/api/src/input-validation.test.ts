// What the API refuses, and how (issue 15): text with control characters (NUL was a 500), header names and
// values a proxy could not send (a CR/LF value passed as valid and turned the route's traffic into 502s),
// token lifetimes of zero (taken for "never expires"), and YAML changes without a document cap. Each is a
// 4xx with the field's path, never a 500. Over real HTTP (REST with bearer tokens), against a real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_CHANGE_OPERATIONS, MAX_LIFETIME_DAYS } from "@trellis/contracts";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { actorForUser, createApiToken } from "@trellis/services";
import { callRest, serve, type RestReply, type TestServer } from "./testing.js";
import { handleRestRequest, handleTrpcRequest } from "./index.js";

let tdb: TestDatabase;
let db: Db;
let server: TestServer;
const tokens: Record<string, string> = {};
const userIds: Record<string, string> = {};

/** Calls the REST API over HTTP as `who`, with their bearer token. */
const call = (who: string, method: string, path: string, body?: unknown) =>
  callRest(server, tokens[who], method, path, body);

const routeDoc = (name: string, rule: Record<string, unknown>) => ({
  apiVersion: "trellis.dev/v1alpha1",
  kind: "Route",
  metadata: { name, namespace: "shop" },
  spec: { service: name, rules: [{ backends: [{ version: "v1" }], ...rule }] },
});

const create = (title: string, rule: Record<string, unknown> = {}, name = "r") => ({
  title,
  operations: [{ action: "create", resource: routeDoc(name, rule) }],
});

function expectRefused(r: RestReply, status: number, code: string, path: string) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body.code).toBe(code);
  expect(r.body.issues?.map((i) => i.path)).toContain(path);
}

beforeAll(async () => {
  tdb = await createTestDatabase("api_input_validation");
  db = createDb(tdb.url);
  for (const [name, role, namespace] of [
    ["eddie", "editor", "shop"],
    ["april", "approver", "shop"],
    ["root", "admin", "*"],
  ] as const) {
    const u = await db.user.create({ data: { name, roleBindings: { create: { role, namespace } } } });
    userIds[name] = u.id;
    const actor = await actorForUser(db, u.id, { via: "api" });
    tokens[name] = (await createApiToken(db, actor, { name: "rest" })).token;
  }
  // The console's tRPC too (a header names the signed-in user, as next-auth's session would): it carries ids
  // in JSON, where a NUL can reach the database, unlike REST's raw path segments.
  server = await serve((req) =>
    new URL(req.url).pathname.startsWith("/api/v1/")
      ? handleRestRequest(db, req)
      : handleTrpcRequest(db, req, {
          endpoint: "/api/trpc",
          sessionUserId: req.headers.get("x-test-session"),
        }),
  );
});
afterAll(async () => {
  await server?.close();
  await db?.$disconnect();
  await tdb?.drop();
});

describe("text people type", () => {
  it("refuses NUL and other controls in titles, descriptions and comments with 422 and the field", async () => {
    for (const title of ["a\u0000b", "line\rforged", "\u001b[2Kgone", "two\nlines", "c1\u009b"])
      expectRefused(
        await call("eddie", "POST", "/changes", create(title)),
        422,
        "VALIDATION_FAILED",
        "title",
      );
    expectRefused(
      await call("eddie", "POST", "/changes", { ...create("ok"), description: "x\u0000" }),
      422,
      "VALIDATION_FAILED",
      "description",
    );
    // Multi-line text keeps its tabs and line feeds.
    const ok = await call("eddie", "POST", "/changes", { ...create("ok"), description: "why:\n\t- because" });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const id = ok.body.id as string;
    for (const verb of ["approve", "reject"])
      expectRefused(
        await call("april", "POST", `/changes/${id}/${verb}`, { comment: "lgtm\u0000" }),
        422,
        "VALIDATION_FAILED",
        "comment",
      );
    expect((await call("april", "POST", `/changes/${id}/approve`, { comment: "fine\n" })).body).toMatchObject(
      {
        status: "applied",
      },
    );
    expectRefused(
      await call("eddie", "POST", `/changes/${id}/rollback`, { title: "undo\u0000" }),
      422,
      "VALIDATION_FAILED",
      "title",
    );
  });

  it("refuses NUL in token names and display names, and in audit filters", async () => {
    expectRefused(
      await call("eddie", "POST", "/tokens", { name: "ci\u0000" }),
      422,
      "VALIDATION_FAILED",
      "name",
    );
    expectRefused(
      await call("root", "POST", "/join-tokens", { namespace: "shop", name: "j\u0000" }),
      422,
      "VALIDATION_FAILED",
      "name",
    );
    expectRefused(
      await call("root", "POST", "/users", { name: "nul-user", displayName: "Nul\u0000" }),
      422,
      "VALIDATION_FAILED",
      "displayName",
    );
    expectRefused(await call("root", "GET", "/audit?targetId=a%00b"), 422, "VALIDATION_FAILED", "targetId");
  });

  it("refuses NUL in an id given as JSON to the console's tRPC (a 4xx, not 500)", async () => {
    for (const [path, input] of [
      ["change.get", { id: "1\u0000" }],
      ["apiToken.revoke", { id: "x\u0000" }],
    ] as const) {
      const res = await fetch(
        `${server.url}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`,
        {
          method: path === "change.get" ? "GET" : "POST",
          headers: {
            "x-test-session": userIds.eddie!,
            origin: server.url,
            "content-type": "application/json",
          },
          ...(path === "change.get" ? {} : { body: JSON.stringify(input) }),
        },
      );
      const body = (await res.json()) as {
        error?: { data?: { appCode?: string; issues?: { path: string }[] } };
      };
      // tRPC answers input errors 400 (REST: 422), with the same code and path.
      expect(res.status, `${path}: ${JSON.stringify(body)}`).toBe(400);
      expect(body.error?.data?.appCode).toBe("VALIDATION_FAILED");
      expect(body.error?.data?.issues?.map((i) => i.path)).toEqual(["id"]);
    }
  });

  it("refuses NUL inside a resource spec (it cannot be stored) with the spec's path", async () => {
    const r = await call(
      "eddie",
      "POST",
      "/changes",
      create("nul in spec", { match: { path: { exact: "/a\u0000" } } }, "nul"),
    );
    expectRefused(r, 422, "CHANGE_INVALID", "operations[0].resource.spec.rules[0].match.path.exact");
  });
});

describe("headers in Route resources", () => {
  it("refuses a CR/LF value, a bad name and a framing header, with the paths, and accepts a plain value", async () => {
    const bad = await call(
      "eddie",
      "POST",
      "/changes",
      create(
        "inject",
        {
          requestHeaders: { set: { "x-a": "v\r\nx-evil: 1" } },
          responseHeaders: { add: { "bad name": "1" }, remove: ["content-length"] },
          match: { headers: [{ name: "x-user", exact: "a\nb" }] },
        },
        "hdr",
      ),
    );
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe("CHANGE_INVALID");
    expect(bad.body.issues!.map((i) => i.path).sort()).toEqual([
      "operations[0].resource.spec.rules[0].match.headers[0].exact",
      "operations[0].resource.spec.rules[0].requestHeaders.set.x-a",
      "operations[0].resource.spec.rules[0].responseHeaders.add.bad name",
      "operations[0].resource.spec.rules[0].responseHeaders.remove[0]",
    ]);
    const preview = await call("eddie", "POST", "/changes/preview", {
      operations: create("x", { requestHeaders: { set: { "x-a": "v\r\n" } } }, "hdr").operations,
    });
    expect(preview.status).toBe(422);
    const ok = await call(
      "eddie",
      "POST",
      "/changes",
      create("plain", { requestHeaders: { set: { "x-a": "v 1" } } }, "hdr"),
    );
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  });
});

describe("token lifetimes", () => {
  it("refuses zero, negative-looking and over-long lifetimes for API and join tokens (422), keeps real ones", async () => {
    for (const expiresIn of ["0m", "0h", "0d", "-1d", `${MAX_LIFETIME_DAYS + 1}d`]) {
      expectRefused(
        await call("eddie", "POST", "/tokens", { name: "t", expiresIn }),
        422,
        "VALIDATION_FAILED",
        "expiresIn",
      );
      expectRefused(
        await call("root", "POST", "/join-tokens", { namespace: "shop", expiresIn }),
        422,
        "VALIDATION_FAILED",
        "expiresIn",
      );
    }
    expect(await db.apiToken.count({ where: { name: "t" } })).toBe(0);
    const t = await call("eddie", "POST", "/tokens", { name: "short", expiresIn: "1m" });
    expect(t.status).toBe(200);
    const row = await db.apiToken.findUniqueOrThrow({ where: { id: t.body.id as string } });
    expect(row.expiresAt!.getTime() - Date.now()).toBeGreaterThan(0);
    expect(row.expiresAt!.getTime() - Date.now()).toBeLessThanOrEqual(60_000);
    expect(await db.joinToken.count()).toBe(0);
  });
});

describe("YAML changes", () => {
  it(`takes at most ${MAX_CHANGE_OPERATIONS} documents and says so`, async () => {
    const doc = (i: number) =>
      `apiVersion: trellis.dev/v1alpha1\nkind: Route\nmetadata: { name: r${i}, namespace: shop }\nspec: { service: s${i}, rules: [{}] }\n`;
    const yaml = (n: number) => Array.from({ length: n }, (_, i) => doc(i)).join("---\n");
    const before = await db.changeRequest.count();
    const r = await call("eddie", "POST", "/changes", { title: "many", yaml: yaml(1_500) });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe("CHANGE_INVALID");
    expect(r.body.issues).toEqual([
      {
        path: "yaml",
        at: { path: ["yaml"] },
        message: `has 1500 documents; a change takes at most ${MAX_CHANGE_OPERATIONS}: split it into several changes`,
      },
    ]);
    expect(
      (
        await call("eddie", "POST", "/changes", {
          title: "one too many",
          yaml: yaml(MAX_CHANGE_OPERATIONS + 1),
        })
      ).status,
    ).toBe(422);
    expect(await db.changeRequest.count()).toBe(before);
    const max = await call("eddie", "POST", "/changes/preview", { yaml: yaml(MAX_CHANGE_OPERATIONS) });
    expect(max.status, JSON.stringify(max.body).slice(0, 300)).toBe(200);
  });
});
