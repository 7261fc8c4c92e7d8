// `GET /api/v1/policies/suggest` (and its tRPC twin) through the real REST edge, against telemetry rows in a
// real PostgreSQL: the suggestion, its evidence, its limits, and the change it proposes through `/changes`.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb } from "@trellis/db";
import { actorForUser, createApiToken } from "@trellis/services";
import { minuteAgo, seedRollups } from "@trellis/services/testing";
import { handleRestRequest, openApiDocument } from "./index.js";
import { callRest } from "./testing.js";

const db = createDb(inject("databaseUrl"));
const NS = "pol-api";
const tokens: Record<string, string> = {};

beforeAll(async () => {
  for (const [name, role, namespace] of [
    ["pol-eddie", "editor", NS],
    ["pol-olga", "admin", "pol-other"],
  ] as const) {
    const u = await db.user.create({ data: { name, roleBindings: { create: { role, namespace } } } });
    tokens[name] = (
      await createApiToken(db, await actorForUser(db, u.id, { via: "api" }), { name: "t" })
    ).token;
  }
  await db.service.create({ data: { namespace: NS, name: "ratings" } });
  await db.service.create({ data: { namespace: NS, name: "web" } });
  // 60 calls web → ratings two minutes ago, as both sidecars report them.
  for (const reporter of ["inbound", "outbound"] as const)
    await seedRollups(db, {
      bucket: minuteAgo(2),
      reporter,
      source: [NS, "web"],
      destination: [NS, "ratings"],
      requests: 60,
      latencyMs: 10,
    });
});
afterAll(() => db.$disconnect());

/** Calls the REST edge in process as `who`, with their bearer token. */
const call = (who: string, method: string, path: string, body?: unknown) =>
  callRest((req) => handleRestRequest(db, req), tokens[who], method, path, body);

describe("GET /api/v1/policies/suggest", () => {
  it("suggests the observed callers, and the change it returns opens as any other", async () => {
    const r = await call("pol-eddie", "GET", `/policies/suggest?namespace=${NS}&service=ratings&window=1h`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      granularity: "identity",
      window: { length: "1h" },
      resource: {
        kind: "AccessPolicy",
        metadata: { name: "ratings-observed", namespace: NS },
        spec: { service: "ratings", allow: [{ from: [{ namespace: NS, service: "web" }] }] },
      },
      callers: [{ namespace: NS, service: "web", requests: 60, mtlsShare: 1, status: "allowed" }],
    });
    // Only that this database's telemetry is younger than the window, if anything.
    const warnings = r.body.warnings as string[];
    expect(warnings.filter((w) => !w.includes("telemetry only goes back to"))).toEqual([]);
    const operation = r.body.operation;
    expect(operation).toMatchObject({ action: "create" });

    const preview = await call("pol-eddie", "POST", "/changes/preview", { operations: [operation] });
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({
      validation: { valid: true },
      impact: {
        access: [],
        accessTotals: [
          {
            requests: 60,
            deniedRequests: 0,
            summary: `would have refused 0 of the last hour's 60 requests to ${NS}/ratings`,
          },
        ],
      },
    });
    const change = await call("pol-eddie", "POST", "/changes", {
      title: r.body.title,
      description: r.body.description,
      operations: [operation],
    });
    expect(change.status, JSON.stringify(change.body)).toBe(200);
    expect(change.body).toMatchObject({ status: "open", author: "pol-eddie" });
  });

  it("names the field of a window out of bounds, and refuses readers of other namespaces", async () => {
    const bad = await call(
      "pol-eddie",
      "GET",
      `/policies/suggest?namespace=${NS}&service=ratings&window=45d`,
    );
    expect(bad).toMatchObject({
      status: 422,
      body: { code: "VALIDATION_FAILED", issues: [{ path: "window" }] },
    });
    const other = await call("pol-olga", "GET", `/policies/suggest?namespace=${NS}&service=ratings`);
    expect(other).toMatchObject({ status: 403, body: { code: "FORBIDDEN" } });
    const missing = await call("pol-eddie", "GET", `/policies/suggest?namespace=${NS}&service=nope`);
    expect(missing).toMatchObject({ status: 404, body: { code: "NOT_FOUND" } });
  });

  it("is in the OpenAPI document with its query parameters", () => {
    const doc = openApiDocument("http://localhost:3000") as unknown as {
      paths: Record<string, Record<string, { parameters?: { in: string; name: string }[] }>>;
    };
    const op = doc.paths["/policies/suggest"]?.get;
    expect(op?.parameters?.map((p) => `${p.in}:${p.name}`).sort()).toEqual([
      "query:methods",
      "query:namespace",
      "query:paths",
      "query:service",
      "query:window",
    ]);
  });

  it("narrows by methods and paths when asked in the query, and reads methods=false as false", async () => {
    await db.telemetryAccessRollup.create({
      data: {
        bucket: new Date(Math.floor(Date.now() / 60_000) * 60_000 - 120_000),
        destNamespace: NS,
        destService: "ratings",
        sourceNamespace: NS,
        sourceService: "web",
        method: "GET",
        path: "/api/*",
        requests: 60n,
      },
    });
    const q = `/policies/suggest?namespace=${NS}&service=ratings`;
    const both = await call("pol-eddie", "GET", `${q}&methods=true&paths=true`);
    expect(both.status).toBe(200);
    expect(both.body).toMatchObject({
      granularity: "methods-and-paths",
      resource: {
        spec: { allow: [{ from: [{ namespace: NS, service: "web" }], methods: ["GET"], paths: ["/api/*"] }] },
      },
    });
    const off = await call("pol-eddie", "GET", `${q}&methods=false&paths=true`);
    expect(off.body).toMatchObject({
      granularity: "paths",
      resource: { spec: { allow: [{ from: [{ namespace: NS, service: "web" }], paths: ["/api/*"] }] } },
    });
    const bad = await call("pol-eddie", "GET", `${q}&methods=yes`);
    expect(bad.status).toBe(422);
  });
});
