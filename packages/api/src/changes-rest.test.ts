// Change requests and resources over REST, as a script or `trellis apply -f` uses them: a real HTTP server
// on 127.0.0.1 in front of handleRestRequest, bearer tokens, a real PostgreSQL (a database of this file's own).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { actorForUser, createApiToken } from "@trellis/services";
import { handleRestRequest, openApiDocument, type EdgeOptions } from "./index.js";
import { callRest, serve, type TestServer } from "./testing.js";

let tdb: TestDatabase;
let db: Db;
let server: TestServer;
const tokens: Record<string, string> = {};

const serveRest = (database: Db, opts: EdgeOptions = {}) =>
  serve((r) => handleRestRequest(database, r, opts));

/**
 * Calls the REST API over HTTP as `who`, through a proxy that says the client is 192.0.2.7 (the edge under
 * test trusts one proxy hop), with `extra` headers.
 */
const call = (
  who: string,
  method: string,
  path: string,
  body?: unknown,
  extra: Record<string, string> = {},
) => callRest(server, tokens[who], method, path, body, { "x-forwarded-for": "192.0.2.7", ...extra });

const CANARY = `apiVersion: trellis.dev/v1alpha1
kind: Route
metadata: { name: reviews-canary, namespace: shop }
spec:
  service: reviews
  rules:
    - backends: [{ version: v1, weight: 90 }, { version: v2, weight: 10 }]
`;

beforeAll(async () => {
  tdb = await createTestDatabase("api_changes");
  db = createDb(tdb.url);
  for (const [name, role, namespace] of [
    ["eddie", "editor", "shop"],
    ["april", "approver", "shop"],
    ["vera", "viewer", "shop"],
    ["bill", "admin", "billing"],
  ] as const) {
    const u = await db.user.create({ data: { name, roleBindings: { create: { role, namespace } } } });
    const actor = await actorForUser(db, u.id, { via: "api" });
    tokens[name] = (await createApiToken(db, actor, { name: "rest" })).token;
  }
  const svc = await db.service.create({ data: { namespace: "shop", name: "reviews" } });
  for (const version of ["v1", "v2"]) {
    await db.workload.create({
      data: {
        serviceId: svc.id,
        version,
        address: `127.0.0.1:1500${version.slice(1)}`,
        identity: "spiffe://t/ns/shop/sa/reviews",
      },
    });
  }
  // As behind one reverse proxy that appends the client's address to X-Forwarded-For (TRELLIS_TRUST_PROXY=1).
  server = await serveRest(db, { trustProxy: 1 });
});
afterAll(async () => {
  await server?.close();
  await db?.$disconnect();
  await tdb?.drop();
});

describe("change requests over REST", () => {
  let id = "";
  let number = 0;

  it("opens a change from a YAML file as the CLI posts it, recorded as coming from the CLI", async () => {
    const r = await call(
      "eddie",
      "POST",
      "/changes",
      { title: "canary 10%", yaml: CANARY },
      { "x-trellis-client": "cli" },
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: "open", source: "cli", author: "eddie", requiredApprovals: 1 });
    id = r.body.id as string;
    number = r.body.number as number;
    const ev = await db.auditEvent.findFirstOrThrow({ where: { action: "change.create", targetId: id } });
    expect(ev).toMatchObject({ via: "cli", ip: "192.0.2.7", actorKind: "token" });
  });

  it("records no client address that the client wrote itself, when no proxy is trusted", async () => {
    const direct = await serveRest(db);
    try {
      const res = await callRest(
        direct,
        tokens.eddie,
        "POST",
        "/changes",
        { title: "from a client that forges its address", yaml: CANARY },
        { "x-forwarded-for": "203.0.113.66, 192.0.2.7" },
      );
      expect(res.status).toBe(200);
      const forged = res.body.id as string;
      const ev = await db.auditEvent.findFirstOrThrow({
        where: { action: "change.create", targetId: forged },
      });
      expect(ev.ip).toBeNull();
      expect((await call("eddie", "POST", `/changes/${forged}/cancel`)).body).toMatchObject({
        status: "cancelled",
      });
    } finally {
      await direct.close();
    }
  });

  it("refuses the author's approval (403 CHANGE_SELF_APPROVAL) and a viewer's (403 FORBIDDEN) as problem documents; hides it (404) from others", async () => {
    const self = await call("eddie", "POST", `/changes/${id}/approve`, {});
    expect(self.status).toBe(403);
    expect(self.type).toBe("application/problem+json");
    expect(self.body).toMatchObject({ status: 403, code: "CHANGE_SELF_APPROVAL" });
    const viewer = await call("vera", "POST", `/changes/${id}/approve`, { comment: "lgtm" });
    expect(viewer).toMatchObject({ status: 403, body: { code: "FORBIDDEN" } });
    // Someone who cannot read the change is told it does not exist, as for a number never used.
    const other = await call("bill", "GET", `/changes/${id}`);
    expect(other).toMatchObject({ status: 404, body: { code: "NOT_FOUND" } });
  });

  it("shows the change by number, with the diff and validation, to a viewer", async () => {
    const r = await call("vera", "GET", `/changes/${number}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      id,
      validation: { valid: true, errors: [] },
      operations: [
        {
          action: "create",
          kind: "Route",
          name: "reviews-canary",
          before: null,
          after: { service: "reviews" },
        },
      ],
      rollout: { state: "not_applied", generation: null },
    });
    const impact = await call("vera", "GET", `/changes/${id}/impact`);
    expect(impact.status).toBe(200);
    expect(impact.body).toMatchObject({
      services: [{ namespace: "shop", name: "reviews", registered: true }],
    });
    const list = await call("vera", "GET", "/changes?status=open&namespace=shop&limit=5");
    expect((list.body.items as { id: string }[]).map((i) => i.id)).toEqual([id]);
  });

  it("applies on approval: the resource, its history and the rollout's generation", async () => {
    const r = await call("april", "POST", `/changes/${id}/approve`, { comment: "ship it" });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      status: "applied",
      approvals: [{ user: "april", decision: "approve", comment: "ship it" }],
    });
    const rollout = await call("vera", "GET", `/changes/${id}/rollout`);
    expect(rollout.status).toBe(200);
    expect(rollout.body).toMatchObject({ changeId: id, state: "waiting", total: 0 });
    expect(rollout.body.generation).toBeGreaterThan(0);

    const res = await call("vera", "GET", "/resources?kind=Route");
    expect(res.body).toMatchObject({
      items: [{ kind: "Route", namespace: "shop", name: "reviews-canary", revision: 1 }],
    });
    const hist = await call("vera", "GET", "/resources/Route/shop/reviews-canary/history");
    expect(hist.body).toMatchObject({ items: [{ revision: 1, change: { id, number }, author: "eddie" }] });
    const one = await call("vera", "GET", "/resources/Route/shop/reviews-canary?revision=1");
    expect(one.body).toMatchObject({ revision: 1, currentRevision: 1, spec: { service: "reviews" } });
    expect((await call("bill", "GET", "/resources")).body).toEqual({ items: [] });
  });

  it("answers bad YAML and invalid specs with 422 and the field path, and changes nothing", async () => {
    const before = await db.changeRequest.count();
    const bad = await call("eddie", "POST", "/changes", {
      title: "bad",
      yaml: CANARY.replace("weight: 10", "weight: 20"),
    });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({
      code: "CHANGE_INVALID",
      issues: [{ path: "[0].spec.rules[0].backends", message: "weights must sum to 100 (got 110)" }],
    });
    const syntax = await call("eddie", "POST", "/changes", { title: "bad", yaml: "kind: [" });
    expect(syntax).toMatchObject({
      status: 422,
      body: { code: "CHANGE_INVALID", issues: [{ path: "[0]" }] },
    });
    const shape = await call("eddie", "POST", "/changes", { yaml: CANARY });
    expect(shape).toMatchObject({
      status: 422,
      body: { code: "VALIDATION_FAILED", issues: [{ path: "title" }] },
    });
    expect(await db.changeRequest.count()).toBe(before);
  });

  it("answers a stale base with 409 CHANGE_STALE, and a missing change with 404", async () => {
    const stale = await call("eddie", "POST", "/changes", {
      title: "stale",
      operations: [
        { action: "delete", kind: "Route", namespace: "shop", name: "reviews-canary", baseRevision: 7 },
      ],
    });
    expect(stale).toMatchObject({
      status: 409,
      body: { code: "CHANGE_STALE", issues: [{ path: "operations[0]" }] },
    });
    expect((await call("vera", "GET", "/changes/99999")).status).toBe(404);
  });

  it("rolls back: a new change that, once approved, restores the state before", async () => {
    const rb = await call("eddie", "POST", `/changes/${id}/rollback`, {});
    expect(rb.status).toBe(200);
    expect(rb.body).toMatchObject({
      status: "open",
      rollbackOf: { id, number },
      operations: [{ action: "delete" }],
    });
    const fast = await call("eddie", "POST", `/changes/${id}/rollback`, { fastTrackReason: "pager" });
    expect(fast).toMatchObject({ status: 403, body: { code: "FORBIDDEN" } });
    const ok = await call("april", "POST", `/changes/${rb.body.id as string}/approve`, {});
    expect(ok.body).toMatchObject({ status: "applied" });
    expect((await call("vera", "GET", "/resources/Route/shop/reviews-canary")).status).toBe(404);
    expect((await call("vera", "GET", `/changes/${id}`)).body).toMatchObject({
      status: "rolled_back",
      rolledBackBy: [{ id: rb.body.id }],
    });
    const again = await call("eddie", "POST", `/changes/${id}/rollback`, {});
    expect(again).toMatchObject({ status: 409, body: { code: "CHANGE_NOT_APPLIED" } });
  });

  it("cancels (author only) and rejects (approvers) with problem codes for the rest", async () => {
    const a = await call("eddie", "POST", "/changes", { title: "again", yaml: CANARY });
    const aid = a.body.id as string;
    expect((await call("april", "POST", `/changes/${aid}/cancel`)).body).toMatchObject({ code: "FORBIDDEN" });
    expect((await call("eddie", "POST", `/changes/${aid}/cancel`)).body).toMatchObject({
      status: "cancelled",
    });
    expect((await call("april", "POST", `/changes/${aid}/reject`, {})).body).toMatchObject({
      code: "CHANGE_NOT_OPEN",
    });
    const b = await call("eddie", "POST", "/changes", { title: "once more", yaml: CANARY });
    const rej = await call("april", "POST", `/changes/${b.body.id as string}/reject`, {
      comment: "no canary on Fridays",
    });
    expect(rej.body).toMatchObject({
      status: "rejected",
      approvals: [{ decision: "reject", comment: "no canary on Fridays" }],
    });
    const preview = await call("vera", "POST", "/changes/preview", { yaml: CANARY });
    expect(preview).toMatchObject({
      status: 200,
      body: { validation: { valid: true }, impact: { routes: [{ service: "reviews" }] } },
    });
  });
});

describe("OpenAPI", () => {
  it("describes every change and resource endpoint, with its path parameters", () => {
    const doc = openApiDocument("http://localhost:3000") as unknown as {
      paths: Record<
        string,
        Record<string, { operationId: string; parameters?: { in: string; name: string }[] }>
      >;
    };
    const expected: Record<string, string[]> = {
      "/changes": ["get", "post"],
      "/changes/preview": ["post"],
      "/changes/{id}": ["get"],
      "/changes/{id}/impact": ["get"],
      "/changes/{id}/rollout": ["get"],
      "/changes/{id}/approve": ["post"],
      "/changes/{id}/reject": ["post"],
      "/changes/{id}/cancel": ["post"],
      "/changes/{id}/rebase": ["post"],
      "/changes/{id}/rollback": ["post"],
      "/resources": ["get"],
      "/resources/{kind}/{namespace}/{name}": ["get"],
      "/resources/{kind}/{namespace}/{name}/history": ["get"],
    };
    for (const [path, methods] of Object.entries(expected)) {
      expect(Object.keys(doc.paths[path] ?? {}).sort(), path).toEqual(methods);
    }
    // Valid in the ways a generator could break it: unique operation ids, every {param} declared.
    const ids = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const op of Object.values(ops)) {
        expect(ids.has(op.operationId), op.operationId).toBe(false);
        ids.add(op.operationId);
        const declared = (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name);
        expect(declared.sort(), path).toEqual([...params].sort());
      }
    }
    expect(() => JSON.parse(JSON.stringify(doc))).not.toThrow();
  });
});
