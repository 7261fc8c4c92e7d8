// One mistake, one description: a bad change sent over REST (a problem document) and over the console's tRPC
// (its error's `data`) comes back with the same code, the same text and the same structured issues, each
// locating its field with `at` ({ doc, path }) and naming it with the same `path` text. Input the procedure's
// schema refuses too: tRPC's own input errors once said `operations.0.resource` where REST said
// `operations[0].resource`. Over real HTTP, against a real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FieldIssue } from "@trellis/contracts";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { actorForUser, createApiToken } from "@trellis/services";
import { serve, type TestServer } from "./testing.js";
import { handleRestRequest, handleTrpcRequest } from "./index.js";

let tdb: TestDatabase;
let db: Db;
let server: TestServer;
let token = "";
let userId = "";

/** What either edge said about a refused change. */
interface Refusal {
  status: number;
  code: string | undefined;
  message: string | undefined;
  issues: FieldIssue[];
}

async function viaRest(input: unknown): Promise<Refusal> {
  const res = await fetch(`${server.url}/api/v1/changes`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(input),
  });
  const body = (await res.json()) as { code?: string; detail?: string; issues?: FieldIssue[] };
  return { status: res.status, code: body.code, message: body.detail, issues: body.issues ?? [] };
}

async function viaTrpc(input: unknown): Promise<Refusal> {
  const res = await fetch(`${server.url}/api/trpc/change.create`, {
    method: "POST",
    headers: { "x-test-session": userId, origin: server.url, "content-type": "application/json" },
    body: JSON.stringify(input),
  });
  const body = (await res.json()) as {
    error?: { message?: string; data?: { appCode?: string; issues?: FieldIssue[] | null } };
  };
  return {
    status: res.status,
    code: body.error?.data?.appCode,
    message: body.error?.message,
    issues: body.error?.data?.issues ?? [],
  };
}

/** Both edges, checked to agree on everything but the status (tRPC answers input errors 400, REST 422). */
async function both(input: unknown): Promise<{ rest: Refusal; trpc: Refusal }> {
  const rest = await viaRest(input);
  const trpc = await viaTrpc(input);
  expect({ ...trpc, status: undefined }, "tRPC says what REST says").toEqual({ ...rest, status: undefined });
  return { rest, trpc };
}

const route = (name: string, rule: Record<string, unknown>) => ({
  apiVersion: "trellis.dev/v1alpha1",
  kind: "Route",
  metadata: { name, namespace: "shop" },
  spec: { service: name, rules: [rule] },
});

beforeAll(async () => {
  tdb = await createTestDatabase("api_issue_shape");
  db = createDb(tdb.url);
  const u = await db.user.create({
    data: { name: "eddie", roleBindings: { create: { role: "editor", namespace: "shop" } } },
  });
  userId = u.id;
  token = (await createApiToken(db, await actorForUser(db, u.id, { via: "api" }), { name: "rest" })).token;
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

describe("a bad change, over REST and over tRPC", () => {
  it("a resource's own checks: located in its operation, with the same text", async () => {
    const { rest, trpc } = await both({
      title: "weights",
      operations: [
        {
          action: "create",
          resource: route("r", {
            backends: [
              { version: "v1", weight: 90 },
              { version: "v2", weight: 20 },
            ],
          }),
        },
      ],
    });
    expect([rest.status, trpc.status]).toEqual([422, 422]);
    expect(rest.code).toBe("CHANGE_INVALID");
    expect(rest.issues).toContainEqual({
      path: "operations[0].resource.spec.rules[0].backends",
      at: { doc: 0, path: ["spec", "rules", 0, "backends"] },
      message: "weights must sum to 100 (got 110)",
    });
  });

  it("a YAML document's schema: located in its document, record keys kept whole", async () => {
    const doc = (name: string, rule: string) =>
      `apiVersion: trellis.dev/v1alpha1\nkind: Route\nmetadata: { name: ${name}, namespace: shop }\nspec: { service: ${name}, rules: [${rule}] }\n`;
    const { rest } = await both({
      title: "yaml",
      yaml: `${doc("a", "{}")}---\n${doc("b", '{ requestHeaders: { set: { "bad name": x } } }')}`,
    });
    expect(rest.status).toBe(422);
    expect(rest.code).toBe("CHANGE_INVALID");
    expect(rest.issues.map(({ path, at }) => ({ path, at }))).toEqual([
      {
        path: "[1].spec.rules[0].requestHeaders.set.bad name",
        at: { doc: 1, path: ["spec", "rules", 0, "requestHeaders", "set", "bad name"] },
      },
    ]);
  });

  it("the request's schema: the same bracketed paths and `at` from both (no `operations.0.resource`)", async () => {
    const { rest, trpc } = await both({ title: "", operations: [{ action: "create" }] });
    expect([rest.status, trpc.status]).toEqual([422, 400]);
    expect(rest.code).toBe("VALIDATION_FAILED");
    expect(rest.message).toBe("the request is not valid");
    expect(rest.issues.map(({ path, at }) => ({ path, at }))).toEqual(
      expect.arrayContaining([
        { path: "title", at: { path: ["title"] } },
        { path: "operations[0].resource", at: { path: ["operations", 0, "resource"] } },
      ]),
    );
  });
});
