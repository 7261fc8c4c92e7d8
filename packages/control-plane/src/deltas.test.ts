// Config deltas over the real stream, with the real compiler and PostgreSQL: what changes is all that is sent,
// a config built from deltas is byte for byte the one sent whole, proxies without the feature still get whole
// configs, and a proxy that holds something else asks for a resync and gets the whole config.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb } from "@trellis/db";
import type { ControlPlaneMessage, DeltaMessage } from "@trellis/contracts";
import { meshCompiler } from "./index.js";
import type { LightProxy, LightProxyOptions } from "./testing.js";
import { startTestControlPlane, type TestControlPlane } from "../test/support.js";

const url = inject("databaseUrl");
const db = createDb(url);
const NS = "deltas";
const MESH = { kind: "MeshSettings" as const, namespace: "trellis-system", name: "mesh" };

let mesh: TestControlPlane;
/** The mesh's MeshSettings before this file changed them (test files share the database): put back after. */
let savedSettings: { spec: object; revision: number } | null = null;
/** Every config or delta message each proxy received, as parsed. */
const received = new Map<LightProxy, ControlPlaneMessage[]>();

async function proxy(
  service: string,
  address: string,
  extra: Partial<LightProxyOptions> = {},
  waitForConfig = true,
) {
  const log: ControlPlaneMessage[] = [];
  const p = await mesh.join({
    node: { namespace: NS, service, version: "v1", address, labels: {} },
    onMessage: (m) => (m.type === "config" || m.type === "delta") && log.push(m),
    ...extra,
  });
  received.set(p, log);
  if (waitForConfig) await p.until(() => p.appliedVersion !== null, 10_000, `${service}'s first config`);
  else await p.until(() => p.workloadId !== null, 10_000, `${service}'s welcome`);
  return p;
}

const last = (p: LightProxy) => received.get(p)!.at(-1)!;
const names = (svcs: unknown) => (svcs as { name: string }[]).map((s) => s.name);
const servicesOf = (p: LightProxy) =>
  (p.held()!.config.services as { namespace: string; name: string }[]).filter((s) => s.namespace === NS);

async function settle(...ps: LightProxy[]) {
  await mesh.cp.refresh();
  for (const p of ps) await p.until(() => p.appliedVersion === p.held()?.version, 10_000, "acked");
}

beforeAll(async () => {
  const row = await db.resource.findUnique({ where: { kind_namespace_name: MESH } });
  savedSettings = row ? { spec: row.spec as object, revision: row.revision } : null;
  mesh = await startTestControlPlane(db, NS, { databaseUrl: url, compile: meshCompiler(), debounceMs: 20 });
});

afterAll(async () => {
  await mesh?.close();
  await db.resource.deleteMany({ where: { namespace: NS } });
  if (savedSettings) await db.resource.update({ where: { kind_namespace_name: MESH }, data: savedSettings });
  else await db.resource.deleteMany({ where: MESH });
  await db.$disconnect();
});

describe("config deltas", () => {
  let web: LightProxy;
  let reviews: LightProxy;
  let legacy: LightProxy;
  let ratings: LightProxy;

  it("sends a joining proxy's service alone to the proxies that hold the rest", async () => {
    web = await proxy("web", "127.0.0.1:21001");
    reviews = await proxy("reviews", "127.0.0.1:21002");
    legacy = await proxy("legacy", "127.0.0.1:21003", { features: [] });
    expect(received.get(web)![0]!.type).toBe("config"); // a first config is whole
    await settle(web, reviews, legacy);
    const before = mesh.cp.stats();
    ratings = await proxy("ratings", "127.0.0.1:21004");
    await web.until(() => names(servicesOf(web)).includes("ratings"), 10_000, "ratings at web");
    await settle(web, reviews, legacy);
    const d = last(web) as DeltaMessage;
    expect(d.type).toBe("delta");
    expect(d.config).toBeUndefined(); // nothing but the services changed
    expect(names(d.services.put)).toEqual(["ratings"]);
    expect(d.services.remove).toEqual([]);
    // An old proxy (no "delta" in its hello) still gets whole configs.
    expect(last(legacy).type).toBe("config");
    expect(names(servicesOf(legacy))).toEqual(["legacy", "ratings", "reviews", "web"]);
    const after = mesh.cp.stats();
    expect(after.deltas).toBeGreaterThan(before.deltas);
    expect(after.wholeConfigs - before.wholeConfigs).toBe(2); // ratings' first config, legacy's update
  });

  it("sends a Route's service alone, and a MeshSettings change as the config head alone", async () => {
    await db.resource.create({
      data: {
        kind: "Route",
        namespace: NS,
        name: "reviews-timeout",
        spec: { service: "reviews", rules: [{ timeout: "3s" }] },
      },
    });
    await mesh.cp.refresh();
    await web.until(
      () => JSON.stringify(web.held()).includes('"timeoutMs":3000'),
      10_000,
      "the Route at web",
    );
    const route = last(web) as DeltaMessage;
    expect(route.type).toBe("delta");
    expect(route.config).toBeUndefined();
    expect(names(route.services.put)).toEqual(["reviews"]);
    expect(JSON.stringify(route.services.put)).toContain('"timeoutMs":3000');

    const spec = { telemetry: { accessLog: true } };
    await db.resource.upsert({
      where: { kind_namespace_name: MESH },
      create: { ...MESH, spec },
      update: { spec },
    });
    await mesh.cp.refresh();
    await web.until(
      () => JSON.stringify(web.held()).includes('"accessLog":true'),
      10_000,
      "the settings at web",
    );
    const settings = last(web) as DeltaMessage;
    expect(settings.type).toBe("delta");
    expect(settings.services.put).toEqual([]);
    expect(settings.config).toMatchObject({ telemetry: { accessLog: true } });
    await expect
      .poll(
        async () => (await db.workload.findUniqueOrThrow({ where: { id: web.workloadId! } })).ackedVersion,
      )
      .toBe(settings.version);
  });

  it("sends a service whose last workload went away without endpoints", async () => {
    const endpointsAtWeb = () =>
      (servicesOf(web).find((s) => s.name === "ratings") as { endpoints?: unknown[] } | undefined)?.endpoints
        ?.length;
    expect(endpointsAtWeb()).toBe(1);
    ratings.kill();
    await web.until(() => endpointsAtWeb() === 0, 10_000, "ratings without endpoints at web");
    // web applies endpoint edits: the one endpoint removed, not the service's entry.
    const d = last(web) as DeltaMessage;
    expect(d.type).toBe("delta");
    expect(d.services.put).toEqual([]);
    expect(d.services.endpoints).toEqual([
      { service: `${NS}/ratings:80`, edits: [{ at: 0, remove: 1, insert: [] }] },
    ]);
  });

  it("gives a proxy that declared the services it calls only those, and nothing when others change", async () => {
    const scoped = await proxy("frontend", "127.0.0.1:21006", {
      node: {
        namespace: NS,
        service: "frontend",
        version: "v1",
        address: "127.0.0.1:21006",
        labels: {},
        reachableServices: ["reviews", "elsewhere/ledger"],
      },
    });
    expect(names(scoped.held()!.config.services)).toEqual(["reviews"]);
    const count = received.get(scoped)!.length;
    // A new workload of another service changes every other proxy's config, not this one's.
    const extra = await proxy("legacy", "127.0.0.1:21007");
    await web.until(
      () => JSON.stringify(web.held()).includes("127.0.0.1:21007"),
      10_000,
      "new endpoint at web",
    );
    await mesh.cp.refresh();
    expect(received.get(scoped)!.length).toBe(count);
    await extra.close();
  });

  it("builds from deltas exactly the config another proxy of the group gets whole", async () => {
    const web2 = await proxy("web", "127.0.0.1:21005", { features: [] });
    await settle(web, web2);
    await web.until(() => web.appliedVersion === web2.appliedVersion, 10_000, "same version");
    expect(received.get(web)!.filter((m) => m.type === "delta").length).toBeGreaterThanOrEqual(4);
    expect(JSON.stringify(web.held()!.config)).toBe(JSON.stringify(web2.held()!.config));
  });

  it("sends a service's entry whole to a proxy that takes deltas but not endpoint edits", async () => {
    const plain = await proxy("web", "127.0.0.1:21008", { features: ["delta"] });
    await settle(web, plain);
    const extra = await proxy("legacy", "127.0.0.1:21009");
    const hasExtra = (p: LightProxy) => JSON.stringify(p.held()).includes("127.0.0.1:21009");
    await web.until(() => hasExtra(web), 10_000, "new endpoint at web");
    await plain.until(() => hasExtra(plain), 10_000, "new endpoint at plain");
    await settle(web, plain);
    const atWeb = last(web) as DeltaMessage;
    const atPlain = last(plain) as DeltaMessage;
    expect(atWeb.type).toBe("delta");
    expect(atWeb.services.put).toEqual([]);
    expect(atWeb.services.endpoints.map((e) => e.service)).toEqual([`${NS}/legacy:80`]);
    expect(atPlain.type).toBe("delta");
    expect(names(atPlain.services.put)).toEqual(["legacy"]);
    expect(atPlain.services.endpoints).toEqual([]);
    expect(atPlain.version).toBe(atWeb.version);
    expect(JSON.stringify(web.held()!.config)).toBe(JSON.stringify(plain.held()!.config));
    await extra.close();
    await plain.close();
  });

  it("answers a delta it cannot apply with resync, and is sent the whole config", async () => {
    // Reconnects announcing the version it serves, but holding nothing: the next delta cannot apply.
    const { workloadId, appliedVersion } = reviews;
    await reviews.close();
    const p = await proxy(
      "reviews",
      "127.0.0.1:21002",
      { workloadId: workloadId!, appliedVersion: appliedVersion! },
      false,
    );
    await db.resource.update({
      where: { kind_namespace_name: { kind: "Route", namespace: NS, name: "reviews-timeout" } },
      data: { spec: { service: "reviews", rules: [{ timeout: "4s" }] }, revision: 2 },
    });
    await mesh.cp.refresh();
    await p.until(
      () =>
        JSON.stringify(p.held()?.config ?? {}).includes('"timeoutMs":4000') &&
        p.appliedVersion === p.held()!.version,
      10_000,
      "the whole config with the new Route",
    );
    // Its first message was a delta against what it announced (whether for the Route or for its own
    // reconnect, whichever came first): it asked for a resync and was sent the whole config.
    // (A second delta may follow the first before the resync arrives: it cannot apply either, and the
    // control plane answers only the resync about the latest thing it wrote.)
    const types = received.get(p)!.map((m) => m.type);
    const firstWhole = types.indexOf("config");
    expect(firstWhole).toBeGreaterThan(0);
    expect(types.slice(0, firstWhole).every((t) => t === "delta")).toBe(true);
    expect(p.resyncs).toHaveLength(firstWhole);
    expect(p.resyncs[0]).toBe(`delta against ${appliedVersion}, but no config is held`);
    await expect
      .poll(async () => (await db.workload.findUniqueOrThrow({ where: { id: workloadId! } })).ackedVersion)
      .toBe(p.appliedVersion);
  });

  it("batches a join storm: the proxies already there get a few deltas, not one per join", async () => {
    const before = received.get(web)!.length;
    const started = Date.now();
    const storm = await Promise.all(
      Array.from({ length: 12 }, (_, i) => proxy("storm", `127.0.0.1:${21100 + i}`)),
    );
    const endpoints = () =>
      (servicesOf(web).find((s) => s.name === "storm") as { endpoints?: unknown[] } | undefined)?.endpoints
        ?.length ?? 0;
    await web.until(() => endpoints() === storm.length, 10_000, "all storm endpoints at web");
    const seconds = (Date.now() - started) / 1000;
    const deltas = received.get(web)!.length - before;
    // Registry-only recomputes start at most once a second (registryIntervalMs), and each joining proxy
    // got its first config at once, without waiting for them.
    expect(deltas).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    expect(storm.every((p) => p.appliedVersion !== null)).toBe(true);
    // The storm's service reached web whole once (it was new); every later batch sent its endpoints as edits.
    const stormWhole = received
      .get(web)!
      .slice(before)
      .filter((m) => m.type === "delta" && m.services.put.some((s) => s.name === "storm"));
    expect(stormWhole.length).toBe(1);
  });
});
