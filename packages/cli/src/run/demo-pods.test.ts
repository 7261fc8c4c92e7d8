// `trellis up --demo --pods`'s demo, with real parts: a control plane on a real PostgreSQL (on this host's
// loopback, as `trellis up` runs it), the demo's seed, then every workload in a pod of its own — the built
// `trellis demo app … --by-name` and `trellis proxy … --capture` processes in network namespaces. The apps
// know no sidecar: productpage calls `http://details.demo:9080`, reviews v3 and the feed call ratings over gRPC
// by name, the front page's feed is a WebSocket by name. If capture, the sidecars' DNS or the pods' routes to
// the control plane broke, the front page would say "Error fetching".
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { meshCompiler, startControlPlane, type ControlPlane } from "@trellis/control-plane";
import { FEED_PATH, type FeedMessage } from "@trellis/demo";
import { freePort } from "@trellis/dataplane/testing";
import { createBed, list, unsupportedReason, type Bed } from "@trellis/pods";
import { bootstrap } from "@trellis/services";
import { seedDemo } from "./demo-seed.js";
import { podName, startPodDemo, type PodDemo } from "./demo-pods.js";
import { getPage as get } from "@trellis/demo/testing";

const unsupported = unsupportedReason();
if (unsupported && process.env.CI) throw new Error(`CI must run the pod demo: ${unsupported}`);

describe.skipIf(unsupported !== undefined)("the demo in pods (trellis up --demo --pods)", () => {
  let tdb: TestDatabase;
  let db: Db;
  let cp: ControlPlane;
  let bed: Bed;
  let demo: PodDemo;
  const lines: string[] = [];

  beforeAll(async () => {
    tdb = await createTestDatabase("demo_pods");
    db = createDb(tdb.url, { max: 2 });
    bed = await createBed({ name: "demo-test" });
    cp = await startControlPlane({
      databaseUrl: tdb.url,
      secret: "test-demo-pods-secret-test-demo-pods-0123",
      compile: meshCompiler(),
      host: "127.0.0.1",
      port: await freePort(),
      advertiseHosts: [bed.gateway],
      debounceMs: 20,
      registryIntervalMs: 100,
      telemetryIntervalMs: 500,
    });
    await bootstrap(db, { adminPassword: "demo-pods-test-admin-password" });
    const { token } = await seedDemo(db, "demo-pods test");
    demo = await startPodDemo({
      bed,
      controlPlane: { host: "127.0.0.1", port: Number(new URL(cp.url).port) },
      token,
      ingressPort: await freePort(),
      rps: 2,
      log: (l) => lines.push(l),
      verbose: false,
    });
  }, 180_000);

  afterAll(async () => {
    await demo?.stop();
    await bed?.destroy();
    await cp?.close();
    await db?.$disconnect();
    await tdb?.drop();
  }, 60_000);

  it("puts every workload in its own pod, registered with the pod's address", async () => {
    expect(demo.pods.map((p) => p.name).sort()).toEqual(
      [
        "details-v1",
        "feed-v1",
        "ingress-v1",
        "productpage-v1",
        "ratings-v1",
        "reviews-v1",
        "reviews-v2",
        "reviews-v3",
      ].map((w) => podName(w.replace(/-v\d$/, ""), w.slice(-2))),
    );
    expect(podName("reviews", "v2")).toBe("trellis-demo-reviews-v2");
    const proxies = await db.workload.findMany({
      where: { status: "connected", service: { namespace: "demo" } },
      include: { service: true },
    });
    const byPod = new Map(demo.pods.map((p) => [p.ip, p.name]));
    expect(proxies).toHaveLength(8);
    for (const p of proxies) {
      const ip = p.address.replace(/:\d+$/, "");
      expect(byPod.get(ip), `${p.service.name} ${p.version} registered as ${p.address}`).toBe(
        podName(p.service.name, p.version),
      );
    }
  });

  it("serves the front page through the ingress pod: unchanged apps calling details and reviews by name", async () => {
    const front = `http://127.0.0.1:${demo.ingressPort}/productpage`;
    await expect.poll(async () => (await get(front)).reviews, { timeout: 30_000 }).toBe("reviews-v1");
    const pages = await Promise.all(Array.from({ length: 10 }, () => get(front)));
    expect(pages.map((p) => `${p.status} ${p.reviews}`)).toEqual(Array(10).fill("200 reviews-v1"));
    expect(pages[0]!.body).toContain("William Shakespeare"); // from details, by name
    expect(pages[0]!.body).not.toMatch(/Error fetching/);
  });

  it("carries gRPC by name between pods: reviews v3 asks ratings, red stars", async () => {
    await db.resource.update({
      where: { kind_namespace_name: { kind: "Route", namespace: "demo", name: "reviews" } },
      data: {
        spec: { service: "reviews", rules: [{ backends: [{ version: "v3" }] }] },
        revision: { increment: 1 },
      },
    });
    await cp.refresh();
    const front = `http://127.0.0.1:${demo.ingressPort}/productpage`;
    await expect.poll(async () => (await get(front)).reviews, { timeout: 30_000 }).toBe("reviews-v3");
    const page = (await get(front)).body;
    expect(page).toContain("5 of 5 stars, red");
    expect(page).not.toContain("ratings unavailable");
  });

  it("fails on purpose in a pod when told on the app's stdin: reviews v3 with 500s, ratings with gRPC UNAVAILABLE", async () => {
    const front = `http://127.0.0.1:${demo.ingressPort}/productpage`;
    expect(demo.runs("reviews", "v3")).toBe(true);
    expect(demo.runs("ingress", "v1")).toBe(false);
    const fault = { namespace: "demo", percent: 100, latencyMs: 0 };
    demo.applyFault("ratings", "v1", { ...fault, service: "ratings", version: "v1" });
    // reviews v3 asks ratings over gRPC: the page says why it has no stars.
    await expect
      .poll(async () => (await get(front)).body, { timeout: 10_000 })
      .toContain("ratings unavailable (gRPC status 14");
    demo.applyFault("ratings", "v1", null);
    await expect
      .poll(async () => (await get(front)).body, { timeout: 10_000 })
      .toContain("5 of 5 stars, red");

    demo.applyFault("reviews", "v3", { ...fault, service: "reviews", version: "v3", percent: 50 });
    await expect.poll(async () => (await get(front)).reviews, { timeout: 10_000 }).toBe("error 500");
    const pages: string[] = [];
    for (let i = 0; i < 100; i += 10)
      pages.push(...(await Promise.all(Array.from({ length: 10 }, async () => (await get(front)).reviews))));
    expect(pages.filter((r) => r !== "reviews-v3" && r !== "error 500")).toEqual([]);
    // Binomial(100, 0.5): 30–70 is ±4 sd.
    const errors = pages.filter((r) => r === "error 500").length;
    expect(errors).toBeGreaterThanOrEqual(30);
    expect(errors).toBeLessThanOrEqual(70);
    demo.applyFault("reviews", "v3", null);
    await expect.poll(async () => (await get(front)).reviews, { timeout: 10_000 }).toBe("reviews-v3");
    const after = await Promise.all(Array.from({ length: 20 }, async () => (await get(front)).reviews));
    expect(after).toEqual(Array(20).fill("reviews-v3"));
  });

  it("carries the feed's WebSocket from the ingress pod to the feed pod, each message answered over gRPC", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${demo.ingressPort}${FEED_PATH}`, { handshakeTimeout: 5_000 });
    try {
      await new Promise<void>(
        (resolve, reject) => (ws.once("open", () => resolve()), ws.once("error", reject)),
      );
      const answer = new Promise<FeedMessage>((resolve) =>
        ws.once("message", (d) => resolve(JSON.parse(String(d)) as FeedMessage)),
      );
      ws.send(JSON.stringify({ product: 7 }));
      const m = await answer;
      expect("ratings" in m ? [m.product, m.ratings] : m.error).toEqual([7, { Reviewer1: 5, Reviewer2: 4 }]);
    } finally {
      ws.close();
    }
  });

  it("keeps the generator's traffic answered, and the sidecars logged nothing that failed", () => {
    const t = demo.traffic();
    expect(t.sent).toBeGreaterThan(0);
    expect(t.ok).toBeGreaterThan(0);
    expect(lines.filter((l) => !/exited/.test(l))).toEqual([]);
  });

  it("stops every process and removes every pod", async () => {
    await demo.stop();
    await bed.destroy();
    const names = demo.pods.map((p) => p.name);
    const left = (await list()).beds.filter((b) => b.id === bed.id);
    expect(left).toEqual([]);
    const { execFileSync } = await import("node:child_process");
    const netns = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
    for (const n of names) expect(netns).not.toContain(n);
  });
});
