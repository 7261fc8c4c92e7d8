import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb } from "@trellis/db";
import { AppError, listProxies, proxySync, type Actor } from "./index.js";

const db = createDb(inject("databaseUrl"));
const NS = "px-shop";
const admin: Actor = {
  kind: "user",
  userId: "u-admin",
  name: "admin",
  via: "api",
  bindings: [{ role: "admin", namespace: "*" }],
};
const otherViewer: Actor = { ...admin, name: "olga", bindings: [{ role: "viewer", namespace: "px-other" }] };

const answers = { ackedVersion: null, nackedVersion: null, nackReason: null };
const row = (state: "pending" | "acked" | "nacked", reason: string | null = null) => ({
  workloadId: "w",
  generation: 7,
  version: "cfg-7",
  state,
  reason,
});

describe("proxySync", () => {
  it("follows the newest generation's row, and the proxy's answer when the row is not settled yet", () => {
    expect(proxySync(answers, row("acked"))).toEqual({
      state: "in_sync",
      generation: 7,
      targetVersion: "cfg-7",
      reason: null,
    });
    expect(proxySync({ ...answers, ackedVersion: "cfg-6" }, row("pending")).state).toBe("pending");
    expect(proxySync({ ...answers, ackedVersion: "cfg-7" }, row("pending")).state).toBe("in_sync");
    expect(proxySync(answers, row("nacked", "spec.rules[0]: bad regex"))).toMatchObject({
      state: "nacked",
      reason: "spec.rules[0]: bad regex",
    });
    expect(
      proxySync({ ...answers, nackedVersion: "cfg-7", nackReason: "listener: port in use" }, row("pending")),
    ).toMatchObject({ state: "nacked", reason: "listener: port in use" });
  });

  it("judges a proxy that joined since the newest generation by the config it got on connect", () => {
    expect(proxySync(answers, null)).toEqual({
      state: "pending",
      generation: null,
      targetVersion: null,
      reason: null,
    });
    expect(proxySync({ ...answers, ackedVersion: "cfg-1" }, null).state).toBe("in_sync");
    expect(proxySync({ ...answers, nackedVersion: "cfg-1", nackReason: "why" }, null)).toMatchObject({
      state: "nacked",
      reason: "why",
    });
  });
});

describe("listProxies", () => {
  let generation = 0;
  beforeAll(async () => {
    const service = await db.service.create({ data: { namespace: NS, name: "reviews" } });
    const workload = (version: string, extra: Record<string, string> = {}) =>
      db.workload.create({
        data: {
          serviceId: service.id,
          version,
          address: `127.0.0.1:${version === "v1" ? 1001 : version === "v2" ? 1002 : 1003}`,
          identity: `spiffe://trellis.local/ns/${NS}/sa/reviews`,
          ...extra,
        },
      });
    const ok = await workload("v1", { ackedVersion: "cfg-b" });
    const refused = await workload("v2", {
      ackedVersion: "cfg-a",
      nackedVersion: "cfg-b2",
      nackReason: "no",
    });
    await workload("v3");
    // Two generations: the proxies' rows of the older one must not count.
    const older = await db.configGeneration.create({ data: { reason: "test" } });
    const newer = await db.configGeneration.create({ data: { reason: "test" } });
    generation = newer.number;
    await db.proxyConfigStatus.createMany({
      data: [
        { generationId: older.id, workloadId: ok.id, version: "cfg-a", state: "acked" },
        { generationId: older.id, workloadId: refused.id, version: "cfg-a", state: "acked" },
        { generationId: newer.id, workloadId: ok.id, version: "cfg-b", state: "acked" },
        {
          generationId: newer.id,
          workloadId: refused.id,
          version: "cfg-b2",
          state: "nacked",
          reason: "routes[0].match.path: invalid regex",
        },
      ],
    });
  });
  afterAll(async () => {
    await db.service.deleteMany({ where: { namespace: NS } });
    await db.$disconnect();
  });

  it("says where each proxy stands against its newest generation", async () => {
    const list = await listProxies(db, admin, { namespace: NS });
    expect(list.generation).toBeGreaterThanOrEqual(generation);
    expect(list.items.map((p) => [p.version, p.sync])).toEqual([
      ["v1", { state: "in_sync", generation, targetVersion: "cfg-b", reason: null }],
      [
        "v2",
        {
          state: "nacked",
          generation,
          targetVersion: "cfg-b2",
          reason: "routes[0].match.path: invalid regex",
        },
      ],
      ["v3", { state: "pending", generation: null, targetVersion: null, reason: null }],
    ]);
  });

  it("filters by sync state, and only within what the actor may read", async () => {
    const nacked = await listProxies(db, admin, { namespace: NS, sync: "nacked" });
    expect(nacked.items.map((p) => p.version)).toEqual(["v2"]);
    expect((await listProxies(db, otherViewer, {})).items.filter((p) => p.namespace === NS)).toEqual([]);
    await expect(listProxies(db, otherViewer, { namespace: NS })).rejects.toBeInstanceOf(AppError);
  });
});
