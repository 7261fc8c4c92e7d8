// Access observations from real requests: web's sidecar calls reviews' sidecar over mTLS, and reviews' (the
// callee's) sidecar counts each request by the caller's certificate identity, method and first path segment,
// with the same total as its inbound series, and bounded when flooded with distinct paths.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCESS_LIMITS, ZAccessObservation, type AccessObservation } from "@trellis/contracts";
import { client } from "../test-support/apps.js";
import { startMesh, type Mesh } from "../test-support/mesh.js";

let mesh: Mesh;
const c = client();
const call = async (path: string, method = "GET") => {
  const r = await c.get(mesh.web.addresses.outbound!.port, path, { host: "reviews" }, method);
  expect(r.status, `${method} ${path}`).toBe(200);
};
const inboundRequests = () =>
  mesh.reviews
    .drainTelemetry()
    .filter((s) => s.reporter === "inbound")
    .reduce((a, s) => a + s.requests, 0);
const table = (obs: AccessObservation[]) =>
  obs.map((o) => `${o.source.namespace}/${o.source.service} ${o.method} ${o.path} ×${o.requests}`).sort();

beforeAll(async () => {
  mesh = await startMesh();
});
afterAll(async () => {
  await c.close();
  await mesh?.close();
});

describe("access observations on the callee's sidecar", () => {
  it("count requests by caller identity, method and first path segment, never the query", async () => {
    mesh.reviews.drainAccess();
    mesh.reviews.drainTelemetry();
    await call("/api/items/1?token=secret");
    await call("/api/items/2");
    await call("/api/orders", "POST");
    await call("/");
    await call("/health?verbose=1");
    await call("/api/items/3", "PURGE");
    const obs = mesh.reviews.drainAccess();
    expect(table(obs)).toEqual([
      "shop/web GET / ×1",
      "shop/web GET /api/* ×2",
      "shop/web GET /health ×1",
      "shop/web OTHER /api/* ×1",
      "shop/web POST /api/* ×1",
    ]);
    for (const o of obs) {
      expect(ZAccessObservation.parse(o)).toEqual(o);
      expect(o.destination).toEqual({ namespace: "shop", service: "reviews" });
    }
    expect(JSON.stringify(obs)).not.toContain("secret");
    // Recorded where the series is: the same requests, in the same report.
    expect(inboundRequests()).toBe(6);
    // The caller's sidecar observes nothing: only the callee names callers by a certificate it checked.
    expect(mesh.web.drainAccess()).toEqual([]);
    expect(mesh.reviews.drainAccess()).toEqual([]);
  });

  it(`keep at most ${ACCESS_LIMITS.prefixesPerInterval} prefixes per interval, folding the rest into /*`, async () => {
    mesh.reviews.drainAccess();
    mesh.reviews.drainTelemetry();
    const n = ACCESS_LIMITS.prefixesPerInterval + 40;
    for (let i = 0; i < n; i++) await call(`/p${i}/x`);
    await call(`/${"a".repeat(ACCESS_LIMITS.segmentLength + 1)}/x`);
    const obs = mesh.reviews.drainAccess();
    const paths = obs.map((o) => o.path);
    expect(new Set(paths).size).toBe(paths.length);
    expect(paths.filter((p) => p !== "/*")).toHaveLength(ACCESS_LIMITS.prefixesPerInterval);
    expect(obs.find((o) => o.path === "/*")?.requests).toBe(n + 1 - ACCESS_LIMITS.prefixesPerInterval);
    expect(obs.reduce((a, o) => a + o.requests, 0)).toBe(n + 1);
    expect(inboundRequests()).toBe(n + 1);
    // Segments whose hashes collide ("Aa" and "BB", as in Java's String.hashCode) stay apart.
    mesh.reviews.drainAccess();
    mesh.reviews.drainTelemetry();
    for (const p of ["/Aa/x", "/BB/x", "/BB/y", "/Aa"]) await call(p);
    expect(table(mesh.reviews.drainAccess())).toEqual([
      "shop/web GET /Aa ×1",
      "shop/web GET /Aa/* ×1",
      "shop/web GET /BB/* ×2",
    ]);
    // A new interval, a new table: the prefix seen first is kept again.
    await call("/p71/x");
    expect(table(mesh.reviews.drainAccess())).toEqual(["shop/web GET /p71/* ×1"]);
  });
});
