// The demo's fault switch end to end, with real parts: a control plane on a real PostgreSQL, the demo mesh
// in this process (every app beside its sidecar, as `trellis up --demo` runs it), the REST API the console
// serves, the built `trellis demo fail` spawned as a user runs it, and the sync `trellis up` runs between the
// table and the apps. A 50 % fault on reviews v1 must fail about half of the front pages' reviews calls
// through the mesh, latency must slow every page, clearing must restore every one; a viewer and an editor of
// another namespace are refused, a typo is refused before anything is sent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handleRestRequest } from "@trellis/api";
import { serve, type TestServer } from "@trellis/api/testing";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import {
  actorForUser,
  bootstrap,
  createApiToken,
  createJoinToken,
  seedResourcesAsSystemChange,
  SYSTEM_ACTOR,
} from "@trellis/services";
import { meshCompiler, startControlPlane, type ControlPlane } from "@trellis/control-plane";
import { DEMO_NAMESPACE, demoResources, startDemo, type Demo } from "@trellis/demo";
import { getPage } from "@trellis/demo/testing";
import { freePort } from "@trellis/dataplane/testing";
import { syncDemoFaults, type DemoFaultSync } from "./demo-faults.js";
import { runTrellis, type Run } from "../test-support/run-trellis.js";

let tdb: TestDatabase;
let db: Db;
let cp: ControlPlane;
let demo: Demo;
let server: TestServer;
let sync: DemoFaultSync;
const tokens: Record<string, string> = {};
const synced: string[] = [];

function trellis(who: string, args: string[]): Promise<Run> {
  return runTrellis(["demo", "fail", ...args], { TRELLIS_SERVER: server.url, TRELLIS_TOKEN: tokens[who] });
}

/** `n` front pages through the ingress, 10 at a time: which reviews answered each (`error 500`…) and how long. */
async function pages(n: number): Promise<{ reviews: string[]; ms: number[] }> {
  const out = { reviews: [] as string[], ms: [] as number[] };
  for (let i = 0; i < n; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, async () => {
        const t0 = performance.now();
        const p = await getPage(`${demo.ingressUrl}/productpage`);
        return { reviews: p.status === 200 ? p.reviews : `page ${p.status}`, ms: performance.now() - t0 };
      }),
    );
    for (const p of batch) {
      out.reviews.push(p.reviews);
      out.ms.push(p.ms);
    }
  }
  return out;
}

beforeAll(async () => {
  tdb = await createTestDatabase("cli_demo_faults");
  db = createDb(tdb.url);
  cp = await startControlPlane({
    databaseUrl: tdb.url,
    secret: "test-demo-faults-secret-0123456789abc",
    compile: meshCompiler(),
    port: await freePort(),
    debounceMs: 20,
    registryIntervalMs: 100,
  });
  await bootstrap(db, { adminPassword: "demo-faults-admin-password" });
  await seedResourcesAsSystemChange(db, SYSTEM_ACTOR, {
    title: "demo mesh: initial state",
    reason: "test",
    resources: demoResources(),
  });
  const { token } = await createJoinToken(db, SYSTEM_ACTOR, { namespace: DEMO_NAMESPACE });
  demo = await startDemo({ controlPlaneUrl: cp.url, token, ingressPort: 0, rps: 0 });
  for (const [name, role, namespace] of [
    ["eddie", "editor", DEMO_NAMESPACE],
    ["vera", "viewer", DEMO_NAMESPACE],
    ["otto", "editor", "other"],
  ] as const) {
    const u = await db.user.create({ data: { name, roleBindings: { create: { role, namespace } } } });
    tokens[name] = (
      await createApiToken(db, await actorForUser(db, u.id, { via: "api" }), { name: "t" })
    ).token;
  }
  server = await serve((r) => handleRestRequest(db, r));
  // What `trellis up --demo` runs beside its demo (run/up.ts), polling faster for the test.
  sync = syncDemoFaults({
    db,
    namespace: DEMO_NAMESPACE,
    runs: (s, v) => demo.faults.has(s, v),
    apply: (s, v, f) => demo.faults.apply(f ?? { clear: { service: s, version: v } }),
    log: (l) => synced.push(l),
    pollMs: 100,
  });
  // The seeded Route sends reviews to v1: wait until pages come from it (endpoints arrive as workloads join).
  for (let t0 = Date.now(); (await getPage(`${demo.ingressUrl}/productpage`)).reviews !== "reviews-v1";) {
    if (Date.now() - t0 > 60_000) throw new Error("the demo's front page never came from reviews v1");
    await new Promise((r) => setTimeout(r, 200));
  }
}, 180_000);

afterAll(async () => {
  await sync?.stop();
  await server?.close();
  await demo?.stop();
  await cp?.close();
  await db?.$disconnect();
  await tdb?.drop();
});

describe("trellis demo fail", () => {
  it("fails about half of reviews v1's answers at 50 %, through the mesh, until --percent 0", async () => {
    const set = await trellis("eddie", ["reviews", "v1", "--percent", "50"]);
    expect(set.code, set.err).toBe(0);
    expect(set.out.trim()).toBe("failing: reviews v1 in demo: 50 % errors");
    await expect
      .poll(() => demo.faults.list())
      .toEqual([{ namespace: DEMO_NAMESPACE, service: "reviews", version: "v1", percent: 50, latencyMs: 0 }]);

    const failing = await pages(200);
    const errors = failing.reviews.filter((r) => r === "error 500").length;
    // Only the two outcomes: reviews v1 answered, or its 500 reached productpage (no retry turned it into
    // something else).
    expect(failing.reviews.filter((r) => r !== "reviews-v1" && r !== "error 500")).toEqual([]);
    // Binomial(200, 0.5): 35–65 % is ±4.2 sd.
    expect(errors).toBeGreaterThanOrEqual(70);
    expect(errors).toBeLessThanOrEqual(130);

    const listed = await trellis("vera", ["-o", "json"]);
    expect(listed.code, listed.err).toBe(0);
    expect(JSON.parse(listed.out)).toEqual({
      items: [{ namespace: DEMO_NAMESPACE, service: "reviews", version: "v1", percent: 50, latencyMs: 0 }],
    });

    const cleared = await trellis("eddie", ["reviews", "v1", "--percent", "0"]);
    expect(cleared.code, cleared.err).toBe(0);
    expect(cleared.out.trim()).toBe("reviews v1 answers normally again");
    await expect.poll(() => demo.faults.list()).toEqual([]);
    const healthy = await pages(100);
    expect(healthy.reviews).toEqual(Array(100).fill("reviews-v1"));
    expect(synced).toEqual([
      "demo: reviews v1 fails on purpose: 50 % errors",
      "demo: reviews v1 answers normally again",
    ]);
  });

  it("adds latency to every answer, and lists it", async () => {
    const before = await pages(10);
    const set = await trellis("eddie", ["reviews", "v1", "--percent", "0", "--latency", "400ms"]);
    expect(set.code, set.err).toBe(0);
    await expect.poll(() => demo.faults.list().length).toBe(1);
    const slow = await pages(20);
    expect(slow.reviews).toEqual(Array(20).fill("reviews-v1"));
    expect(Math.min(...slow.ms)).toBeGreaterThanOrEqual(395);
    expect(Math.min(...slow.ms)).toBeGreaterThan(Math.min(...before.ms) + 300);
    const table = await trellis("vera", []);
    expect(table.out).toMatch(/demo\s+reviews\s+v1\s+0 %\s+\+400ms/);

    expect((await trellis("eddie", ["reviews", "v1", "--percent", "0"])).code).toBe(0);
    await expect.poll(() => demo.faults.list()).toEqual([]);
  });

  it("refuses a viewer and an editor of another namespace (403), and a typo before sending it", async () => {
    for (const who of ["vera", "otto"]) {
      const r = await trellis(who, ["reviews", "v1", "--percent", "50"]);
      expect(r.code, who).not.toBe(0);
      expect(r.err).toMatch(/^trellis: FORBIDDEN: /);
    }
    const typo = await trellis("eddie", ["reviews", "v1", "--percent", "12.34", "--latency", "1min"]);
    expect(typo.code).not.toBe(0);
    expect(typo.err).toContain("percent: must be a whole number or have one decimal");
    expect(typo.err).toContain("latency: must be a duration");
    const notDemo = await trellis("eddie", ["reviews", "v7", "--percent", "50"]);
    expect(notDemo.code).not.toBe(0);
    expect(notDemo.err).toMatch(/^trellis: NOT_FOUND: no demo workload reviews v7 is running in demo/);
    expect(demo.faults.list()).toEqual([]);
  });
});
