// Traces over REST: the trace store as a viewer of one namespace reads it, with the spans of the others
// redacted, filters over query strings, and a trace they cannot see answered 404 like one that does not exist.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb } from "@trellis/db";
import { bootstrap, createApiToken, type Actor } from "@trellis/services";
import { handleRestRequest } from "./index.js";

const db = createDb(inject("databaseUrl"));
const ADMIN_TOKEN = "trls_api_test_admin_token_traces_0123456789";
let viewerOfFront = "";
const T = "aa000000000000000000000000000001"; // front → back (error in back)
const U = "aa000000000000000000000000000002"; // back only
const NOW = Date.now();

function span(traceId: string, spanId: string, parent: string | null, ns: string, svc: string, o: object) {
  return {
    traceId,
    spanId,
    parentSpanId: parent,
    namespace: ns,
    service: svc,
    version: "v1",
    origin: "proxy",
    name: `GET ${svc}`,
    kind: 2,
    startedAt: new Date(NOW - 60_000),
    durationMs: 10,
    statusCode: 0,
    attributes: { "url.path": `/${svc}` },
    resource: {},
    ...o,
  };
}

beforeAll(async () => {
  await bootstrap(db, { adminPassword: "correct horse battery staple", bootstrapToken: ADMIN_TOKEN });
  const admin = await db.user.findUniqueOrThrow({ where: { name: "admin" } });
  const actor: Actor = {
    kind: "user",
    userId: admin.id,
    name: "admin",
    bindings: [{ role: "admin", namespace: "*" }],
    via: "api",
  };
  viewerOfFront = (
    await createApiToken(db, actor, { name: "front-viewer", role: "viewer", namespace: "front-t" })
  ).token;
  await db.traceSpan.deleteMany({ where: { traceId: { in: [T, U] } } });
  await db.traceSpan.createMany({
    data: [
      span(T, "0000000000000001", null, "front-t", "web", { kind: 2, durationMs: 120 }),
      span(T, "0000000000000002", "0000000000000001", "front-t", "web", {
        kind: 3,
        startedAt: new Date(NOW - 60_000 + 5),
        durationMs: 100,
        peerNamespace: "back-t",
        peerService: "db",
        statusCode: 2,
        httpStatus: 503,
      }),
      span(T, "0000000000000003", "0000000000000002", "back-t", "db", {
        startedAt: new Date(NOW - 60_000 + 10),
        durationMs: 90,
        statusCode: 2,
        statusMessage: "secret table missing",
        attributes: { "db.statement": "SELECT * FROM secrets" },
      }),
      span(U, "0000000000000004", null, "back-t", "db", { startedAt: new Date(NOW - 30_000), durationMs: 3 }),
    ],
  });
});
afterAll(async () => {
  await db.traceSpan.deleteMany({ where: { traceId: { in: [T, U] } } });
  await db.$disconnect();
});

const get = async (path: string, token: string) => {
  const res = await handleRestRequest(
    db,
    new Request(`http://localhost${path}`, { headers: { authorization: `Bearer ${token}` } }),
  );
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
type Items = { items: { traceId: string; [k: string]: unknown }[] };

describe("REST /api/v1/traces", () => {
  it("lists traces for an admin, newest first, with what a list shows", async () => {
    const { status, body } = await get("/api/v1/traces", ADMIN_TOKEN);
    expect(status).toBe(200);
    const mine = (body as unknown as Items).items.filter((t) => [T, U].includes(t.traceId));
    expect(mine.map((t) => t.traceId)).toEqual([U, T]);
    expect(mine[1]).toMatchObject({
      durationMs: 120,
      spans: 3,
      errors: 2,
      redactedSpans: 0,
      root: { name: "GET web", namespace: "front-t", service: "web" },
      services: [
        { namespace: "back-t", service: "db" },
        { namespace: "front-t", service: "web" },
      ],
    });
  });

  it("filters by service, peer, status and minimum duration, from the query string", async () => {
    const ids = async (q: string) =>
      ((await get(`/api/v1/traces?${q}`, ADMIN_TOKEN)).body as unknown as Items).items
        .map((t) => t.traceId)
        .filter((id) => [T, U].includes(id));
    expect(await ids("namespace=back-t&service=db")).toEqual([U, T]);
    expect(await ids("service=web&peerNamespace=back-t&peerService=db")).toEqual([T]);
    expect(await ids("status=error")).toEqual([T]);
    expect(await ids("status=ok&namespace=back-t")).toEqual([U]);
    expect(await ids("minDurationMs=50&namespace=back-t")).toEqual([T]);
    expect(await ids("order=slowest&namespace=back-t")).toEqual([T, U]);
    expect(
      await ids(`since=${encodeURIComponent(new Date(NOW - 45_000).toISOString())}&namespace=back-t`),
    ).toEqual([U]);
    const bad = await get("/api/v1/traces?limit=0", ADMIN_TOKEN);
    expect(bad.status).toBe(422);
  });

  it("shows a viewer the spans of their namespace and the others redacted; a trace they cannot see is 404", async () => {
    const list = (await get("/api/v1/traces", viewerOfFront)).body as unknown as Items;
    const mine = list.items.filter((t) => [T, U].includes(t.traceId));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({
      traceId: T,
      spans: 3,
      // back-t's failure is not the viewer's to know: only web's client span counts.
      errors: 1,
      redactedSpans: 1,
      services: [{ namespace: "front-t", service: "web" }],
    });
    // The filter cannot find a trace through spans the viewer may not read.
    expect(
      ((await get("/api/v1/traces?status=ok", viewerOfFront)).body as unknown as Items).items.map(
        (t) => t.traceId,
      ),
    ).not.toContain(U);
    expect((await get("/api/v1/traces?namespace=back-t", viewerOfFront)).status).toBe(403);

    const trace = await get(`/api/v1/traces/${T}`, viewerOfFront);
    expect(trace.status).toBe(200);
    const spans = trace.body.spans as Record<string, unknown>[];
    expect(spans.map((s) => [s.spanId, s.parentSpanId, s.offsetMs, s.redacted])).toEqual([
      ["0000000000000001", null, 0, false],
      ["0000000000000002", "0000000000000001", 5, false],
      ["0000000000000003", "0000000000000002", 10, true],
    ]);
    expect(spans[2]).toMatchObject({
      namespace: "",
      service: "",
      name: "",
      attributes: {},
      status: "",
      durationMs: 90,
    });
    expect(JSON.stringify(trace.body)).not.toMatch(/secret|back-t/);
    expect(spans[1]).toMatchObject({ status: "error", httpStatus: 503, kind: "client", service: "web" });

    const hidden = await get(`/api/v1/traces/${U}`, viewerOfFront);
    expect(hidden.status).toBe(404);
    expect((await get(`/api/v1/traces/${U}`, ADMIN_TOKEN)).status).toBe(200);
    expect((await get(`/api/v1/traces/not-a-trace-id`, ADMIN_TOKEN)).status).toBe(422);
  });
});
