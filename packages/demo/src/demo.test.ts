// The demo mesh with real parts: a real control plane on a real PostgreSQL, the demo's initial state seeded as
// `trellis up --demo` seeds it (an applied system change), then every demo app beside its own sidecar, joined
// with a join token. Through the ingress, the front page must come from reviews v1 only (the seeded Route),
// over mTLS, and the sidecars' telemetry must land in the rollups as productpage → reviews.
import { request } from "node:http";
import { createServer as netServer, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb } from "@trellis/db";
import { bootstrap, createJoinToken, seedResourcesAsSystemChange, SYSTEM_ACTOR } from "@trellis/services";
import { meshCompiler, startControlPlane, type ControlPlane } from "@trellis/control-plane";
import { DEMO_NAMESPACE, demoResources, REVIEWS_HEADER, startDemo, type Demo } from "./index.js";

const url = inject("databaseUrl");
const db = createDb(url);
let cp: ControlPlane;
let demo: Demo;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = netServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** GET through the ingress; status 0 when nothing answered. */
function get(target: string): Promise<{ status: number; reviews: string; body: string }> {
  return new Promise((resolve) => {
    const req = request(target, { timeout: 5_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, reviews: String(res.headers[REVIEWS_HEADER] ?? ""), body }),
      );
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve({ status: 0, reviews: "", body: "" }));
    req.end();
  });
}

/** Requests counted in the rollups for one edge of the demo, by the reporting side. */
async function edge(source: string, dest: string) {
  const rows = await db.telemetryRollup.findMany({
    where: {
      sourceNamespace: DEMO_NAMESPACE,
      sourceService: source,
      destNamespace: DEMO_NAMESPACE,
      destService: dest,
    },
  });
  return rows;
}

beforeAll(async () => {
  cp = await startControlPlane({
    databaseUrl: url,
    secret: "test-demo-secret-test-demo-secret-0123",
    compile: meshCompiler(),
    port: await freePort(),
    debounceMs: 20,
    registryIntervalMs: 100,
    // Sidecars report every 200 ms here (10 s by default), so rollups fill within the test.
    telemetryIntervalMs: 200,
  });
  await bootstrap(db, { adminPassword: "demo-test-admin-password" });
  const seeded = await seedResourcesAsSystemChange(db, SYSTEM_ACTOR, {
    title: "demo mesh: initial state",
    reason: "test",
    resources: demoResources(),
  });
  expect(seeded.created).toEqual(["MeshSettings/trellis-system/mesh", "Route/demo/reviews"]);
  const { token } = await createJoinToken(db, SYSTEM_ACTOR, { namespace: DEMO_NAMESPACE });
  demo = await startDemo({ controlPlaneUrl: cp.url, token, ingressPort: 0, rps: 20 });
});

afterAll(async () => {
  await demo?.stop();
  await cp?.close();
  await db.$disconnect();
});

describe("the demo mesh", () => {
  it("joins every workload to the mesh with its own identity", () => {
    const ids = [...demo.sidecars()].map(([w, s]) => `${w} ${s.certificate()?.spiffeId}`).sort();
    expect(ids).toEqual([
      "details-v1 spiffe://trellis.local/ns/demo/sa/details",
      "ingress-v1 spiffe://trellis.local/ns/demo/sa/ingress",
      "productpage-v1 spiffe://trellis.local/ns/demo/sa/productpage",
      "ratings-v1 spiffe://trellis.local/ns/demo/sa/ratings",
      "reviews-v1 spiffe://trellis.local/ns/demo/sa/reviews",
      "reviews-v2 spiffe://trellis.local/ns/demo/sa/reviews",
      "reviews-v3 spiffe://trellis.local/ns/demo/sa/reviews",
    ]);
  });

  it("serves the front page through the ingress, with reviews from v1 only (the seeded Route)", async () => {
    // Endpoints arrive as the workloads join: wait until the page has details and reviews.
    await expect.poll(async () => (await get(`${demo.ingressUrl}/productpage`)).reviews).toBe("reviews-v1");
    const pages = await Promise.all(Array.from({ length: 30 }, () => get(`${demo.ingressUrl}/`)));
    expect(pages.map((p) => `${p.status} ${p.reviews}`)).toEqual(Array(30).fill("200 reviews-v1"));
    const page = pages[0]!.body;
    expect(page).toContain("Served by <strong>reviews-v1</strong>");
    expect(page).toContain("William Shakespeare"); // from details
    expect(page).not.toContain("★"); // v1 shows no ratings
    expect(page).not.toMatch(/Error fetching/);
  });

  it("keeps the generator's steady traffic flowing, all of it answered by reviews v1", async () => {
    const before = demo.traffic();
    await new Promise((r) => setTimeout(r, 2_000));
    const after = demo.traffic();
    const sent = after.sent - before.sent;
    // 20 req/s for 2 s; timers on a busy machine may lag a little.
    expect(sent).toBeGreaterThanOrEqual(30);
    expect(sent).toBeLessThanOrEqual(45);
    expect(after.failed - before.failed).toBe(0);
    // Failures from before every workload had joined may show up in the totals, but never another version.
    expect(Object.keys(after.byOutcome).filter((k) => k.startsWith("reviews-"))).toEqual(["reviews-v1"]);
  });

  it("lands telemetry for ingress → productpage → reviews v1 in the rollups, all over mTLS", async () => {
    await expect
      .poll(async () => {
        const rows = await edge("productpage", "reviews");
        return (
          rows.filter((r) => r.reporter === "outbound").reduce((n, r) => n + Number(r.requests), 0) >= 20
        );
      })
      .toBe(true);
    const reviews = await edge("productpage", "reviews");
    expect(new Set(reviews.map((r) => r.destVersion))).toEqual(new Set(["v1"]));
    for (const r of reviews) expect(r.mtlsRequests).toBe(r.requests);
    await expect.poll(async () => (await edge("ingress", "productpage")).length).toBeGreaterThan(0);
    await expect.poll(async () => (await edge("productpage", "details")).length).toBeGreaterThan(0);
    // Nothing calls ratings while v1 gets all reviews traffic.
    expect(await edge("reviews", "ratings")).toEqual([]);
  });

  it("shows ratings (red stars from v3) once a Route sends reviews there", async () => {
    await db.resource.update({
      where: { kind_namespace_name: { kind: "Route", namespace: DEMO_NAMESPACE, name: "reviews" } },
      data: {
        spec: { service: "reviews", rules: [{ backends: [{ version: "v3" }] }] },
        revision: { increment: 1 },
      },
    });
    await cp.refresh();
    await expect.poll(async () => (await get(`${demo.ingressUrl}/`)).reviews).toBe("reviews-v3");
    const page = (await get(`${demo.ingressUrl}/`)).body;
    expect(page).toContain('aria-label="5 of 5 stars, red"');
    expect(page).toContain('aria-label="4 of 5 stars, red"');
    await expect.poll(async () => (await edge("reviews", "ratings")).length).toBeGreaterThan(0);
  });

  it("stops cleanly: the ingress no longer answers", async () => {
    const target = demo.ingressUrl;
    await demo.stop();
    expect((await get(target)).status).toBe(0);
  });
});
