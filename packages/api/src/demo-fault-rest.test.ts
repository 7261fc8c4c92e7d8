// `GET|PUT /api/v1/demo/faults` (the demo's fault switch, `trellis demo fail`) through the real REST edge on a
// real PostgreSQL: who may set a fault (editors of the workload's namespace), what input is refused (422 with
// the field), that only a running demo workload can fail, and that clearing removes it.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb } from "@trellis/db";
import { actorForUser, createApiToken, demoFaultsInForce } from "@trellis/services";
import { handleRestRequest } from "./index.js";
import { callRest } from "./testing.js";

const db = createDb(inject("databaseUrl"));
const NS = "flt-demo";
const tokens: Record<string, string> = {};

beforeAll(async () => {
  for (const [name, role, namespace] of [
    ["flt-eddie", "editor", NS],
    ["flt-vera", "viewer", NS],
    ["flt-otto", "editor", "flt-other"],
  ] as const) {
    const u = await db.user.create({ data: { name, roleBindings: { create: { role, namespace } } } });
    tokens[name] = (
      await createApiToken(db, await actorForUser(db, u.id, { via: "api" }), { name: "t" })
    ).token;
  }
  const reviews = await db.service.create({ data: { namespace: NS, name: "reviews" } });
  // v2 is a demo workload (its sidecar joined with the label `demo: "true"`); v1 is not one of the demo's.
  for (const [version, labels] of [
    ["v2", { app: "reviews", demo: "true" }],
    ["v1", { app: "reviews" }],
  ] as const)
    await db.workload.create({
      data: {
        serviceId: reviews.id,
        version,
        labels,
        address: `127.0.0.1:1${version.length}`,
        identity: `spiffe://t/ns/${NS}/sa/reviews`,
      },
    });
});
afterAll(() => db.$disconnect());

const call = (who: string, method: string, path: string, body?: unknown) =>
  callRest((req) => handleRestRequest(db, req), tokens[who], method, path, body);

const target = { namespace: NS, service: "reviews", version: "v2" };

describe("the demo's fault switch over REST", () => {
  it("lets an editor of the namespace set a fault, which the demo's runner then reads, and clear it", async () => {
    const set = await call("flt-eddie", "PUT", "/demo/faults", { ...target, percent: 50, latency: "200ms" });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toEqual({ items: [{ ...target, percent: 50, latencyMs: 200 }] });
    expect((await demoFaultsInForce(db)).filter((f) => f.namespace === NS)).toEqual([
      { ...target, percent: 50, latencyMs: 200 },
    ]);
    // A viewer of the namespace reads it.
    const read = await call("flt-vera", "GET", `/demo/faults?namespace=${NS}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(set.body);
    const audit = await db.auditEvent.findFirst({ where: { action: "demoFault.set", namespace: NS } });
    expect(audit?.details).toEqual({ from: null, to: { percent: 50, latencyMs: 200 } });

    const cleared = await call("flt-eddie", "PUT", "/demo/faults", { ...target, percent: 0 });
    expect(cleared.status).toBe(200);
    expect(cleared.body).toEqual({ items: [] });
    expect((await demoFaultsInForce(db)).filter((f) => f.namespace === NS)).toEqual([]);
  });

  it("refuses a viewer, an editor of another namespace and a caller without a token with 403/401", async () => {
    for (const who of ["flt-vera", "flt-otto"]) {
      const r = await call(who, "PUT", "/demo/faults", { ...target, percent: 50 });
      expect(r.status, who).toBe(403);
      expect(r.body.code).toBe("FORBIDDEN");
    }
    expect((await call("flt-otto", "GET", `/demo/faults?namespace=${NS}`)).status).toBe(403);
    const anonymous = await callRest((req) => handleRestRequest(db, req), undefined, "PUT", "/demo/faults", {
      ...target,
      percent: 50,
    });
    expect(anonymous.status).toBe(401);
    expect(await demoFaultsInForce(db)).toEqual([]);
  });

  it("refuses bad input with 422 and the field's path", async () => {
    for (const [body, path] of [
      [{ ...target, percent: 12.34 }, "percent"],
      [{ ...target, percent: 101 }, "percent"],
      [{ ...target, percent: 10, latency: "31s" }, "latency"],
      [{ ...target, percent: 10, latency: "soon" }, "latency"],
      [{ ...target, service: "Reviews!", percent: 10 }, "service"],
      [{ namespace: NS, service: "reviews", percent: 10 }, "version"],
    ] as const) {
      const r = await call("flt-eddie", "PUT", "/demo/faults", body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.body.code).toBe("VALIDATION_FAILED");
      expect((r.body.issues as { path: string }[]).map((i) => i.path)).toContain(path);
    }
  });

  it("fails only a workload the demo runs: 404 for one that is not the demo's or not running", async () => {
    for (const version of ["v1", "v9"]) {
      const r = await call("flt-eddie", "PUT", "/demo/faults", { ...target, version, percent: 50 });
      expect(r.status, version).toBe(404);
      expect(String(r.body.detail ?? r.body.title ?? r.body.message)).toMatch(/no demo workload/);
    }
  });
});
