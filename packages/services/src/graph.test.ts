import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { createDb } from "@trellis/db";
import { serviceGraph, type Actor } from "./index.js";
import { minuteAgo, seedRollups } from "./testing.js";

const db = createDb(inject("databaseUrl"));
const NS = "graph-t";
/** Another namespace, with a registered service a viewer of NS must not see. */
const OTHER = "graph-t-other";
const admin: Actor = {
  kind: "user",
  userId: "u",
  name: "admin",
  via: "api",
  bindings: [{ role: "admin", namespace: "*" }],
};
const NOW = new Date();
const bucket = minuteAgo(0, NOW.getTime());

/** `n` calls between versions of NS's services in the current minute, as the caller's sidecar reports them. */
const calls = (src: [string, string], dst: [string, string], code: number, n: number) =>
  seedRollups(db, {
    bucket,
    reporter: "outbound",
    source: [NS, ...src],
    destination: [NS, ...dst],
    statusCode: code,
    requests: n,
    latencyMs: 4,
  });

beforeAll(async () => {
  for (const [name, versions] of [
    ["web", ["v1"]],
    ["reviews", ["v1", "v2"]],
    // Two workloads of one version: one node for it.
    ["idle", ["v1", "v1"]],
    // Registered, no workload yet: a node per service, none per version.
    ["lonely", []],
  ] as const) {
    const svc = await db.service.create({ data: { namespace: NS, name } });
    for (const v of versions)
      await db.workload.create({
        data: {
          serviceId: svc.id,
          version: v,
          address: `127.0.0.1:1${v.length}`,
          identity: `spiffe://t/ns/${NS}/sa/${name}`,
        },
      });
  }
  await db.service.create({ data: { namespace: OTHER, name: "elsewhere" } });
  await calls(["web", "v1"], ["reviews", "v1"], 200, 90);
  await calls(["web", "v1"], ["reviews", "v2"], 200, 8);
  await calls(["web", "v1"], ["reviews", "v2"], 503, 2);
});
afterAll(async () => {
  await db.telemetryRollup.deleteMany({ where: { sourceNamespace: NS } });
  await db.service.deleteMany({ where: { namespace: { in: [NS, OTHER] } } });
  await db.$disconnect();
});

describe("service graph", () => {
  it("has a node per service, idle ones included, and edges with rates, errors and mTLS", async () => {
    const g = await serviceGraph(db, admin, { namespace: NS, window: "5m", end: NOW.toISOString() });
    expect(g.nodes.map((n) => [n.id, n.registered])).toEqual([
      [`${NS}/idle`, true],
      [`${NS}/lonely`, true],
      [`${NS}/reviews`, true],
      [`${NS}/web`, true],
    ]);
    expect(g.edges).toHaveLength(1);
    const e = g.edges[0]!;
    expect(e).toMatchObject({
      source: `${NS}/web`,
      target: `${NS}/reviews`,
      errorRate: 0.02,
      mtlsPercent: 100,
      protocol: "http",
      protocols: ["http1"],
    });
    const reviews = g.nodes.find((n) => n.service === "reviews")!;
    expect(reviews.rps).toBeCloseTo(e.rps, 10);
    expect(reviews.errorRate).toBeCloseTo(0.02, 10);
    expect(g.nodes.find((n) => n.service === "idle")).toMatchObject({ rps: 0, errorRate: 0 });
  });

  it("splits by version on request, and rejects windows it cannot serve", async () => {
    const g = await serviceGraph(db, admin, {
      namespace: NS,
      window: "1h",
      groupBy: "version",
      end: NOW.toISOString(),
    });
    expect(g.edges.map((e) => `${e.source}>${e.target}`).sort()).toEqual([
      `${NS}/web/v1>${NS}/reviews/v1`,
      `${NS}/web/v1>${NS}/reviews/v2`,
    ]);
    expect(g.nodes.map((n) => n.id)).toEqual([
      `${NS}/idle/v1`,
      `${NS}/reviews/v1`,
      `${NS}/reviews/v2`,
      `${NS}/web/v1`,
    ]);
    expect(g.nodes.find((n) => n.id === `${NS}/reviews/v2`)).toMatchObject({ version: "v2", errorRate: 0.2 });
    await expect(serviceGraph(db, admin, { window: "25h" })).rejects.toThrow("window must be from 1m to 24h");
    await expect(serviceGraph(db, admin, { window: "5s" })).rejects.toThrow();
  });

  it("shows a viewer the registered services of its namespaces only", async () => {
    const viewer: Actor = { ...admin, name: "viewer", bindings: [{ role: "viewer", namespace: NS }] };
    const byService = await serviceGraph(db, viewer, { window: "5m", end: NOW.toISOString() });
    expect(byService.nodes.map((n) => n.id)).toEqual(
      ["idle", "lonely", "reviews", "web"].map((s) => `${NS}/${s}`),
    );
    const byVersion = await serviceGraph(db, viewer, {
      window: "5m",
      groupBy: "version",
      end: NOW.toISOString(),
    });
    expect(byVersion.nodes.map((n) => n.id)).toEqual(
      ["idle/v1", "reviews/v1", "reviews/v2", "web/v1"].map((s) => `${NS}/${s}`),
    );
    const all = await serviceGraph(db, admin, { window: "5m", end: NOW.toISOString() });
    expect(all.nodes.map((n) => n.id)).toContain(`${OTHER}/elsewhere`);
  });
});
