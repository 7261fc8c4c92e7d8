// Issue 15 (hostile tenant), findings 1, 2 and 11: what a namespace's join token lets its proxies announce and
// report, checked through the real stream (TLS, WebSocket, join tokens from the services layer, the real
// compiler, PostgreSQL). `demo` is the victim, `other` the hostile namespace with a token of its own.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LATENCY_BUCKETS_MS, type ProxyNode, type TelemetrySeries } from "@trellis/contracts";
import { createDb } from "@trellis/db";
import { meshCompiler } from "./index.js";
import type { LightProxy } from "./testing.js";
import { startTestControlPlane, type TestControlPlane } from "../test/support.js";

const url = inject("databaseUrl");
const db = createDb(url);

let mesh: TestControlPlane;
const tokens: Record<string, string> = {};
const logs: string[] = [];

function join(
  namespace: "demo" | "other",
  node: Partial<ProxyNode> & { service: string },
  extra: { token?: string } = {},
): Promise<LightProxy> {
  return mesh.join({
    token: extra.token ?? tokens[namespace]!,
    node: { namespace, version: "v1", address: "127.0.0.1:1", labels: {}, ...node } as ProxyNode,
  });
}

/** Waits for the first config, or for the stream to be closed (a refused hello). */
async function settled(p: LightProxy): Promise<void> {
  await p.until(() => p.appliedVersion !== null || p.closeCode !== null, 10_000, "config or close");
}

interface OutboundEntry {
  namespace: string;
  name: string;
  protocol?: string;
  port?: number;
}
function outbound(p: LightProxy): OutboundEntry[] {
  const cfg = p.held()?.config as { services?: OutboundEntry[] } | undefined;
  return cfg?.services ?? [];
}
const tcpPortsOf = (p: LightProxy) =>
  outbound(p)
    .filter((s) => s.protocol === "tcp")
    .map((s) => `${s.namespace}/${s.name}:${s.port}`);

function series(
  reporter: "inbound" | "outbound",
  source: [string, string],
  destination: [string, string],
  over: Partial<TelemetrySeries> = {},
): TelemetrySeries {
  const buckets = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  buckets[4] = 10;
  return {
    reporter,
    source: { namespace: source[0], service: source[1], version: "v1" },
    destination: { namespace: destination[0], service: destination[1], version: "v1" },
    code: 503,
    protocol: "http1",
    requests: 10,
    mtlsRequests: 10,
    durationSumMs: 100,
    buckets,
    bytesSent: 0,
    bytesReceived: 0,
    ...over,
  };
}

beforeAll(async () => {
  mesh = await startTestControlPlane(db, "demo", {
    databaseUrl: url,
    compile: meshCompiler(),
    // The flood test parses 30,000 series in this process, which also runs the proxies: a short heartbeat would
    // drop them meanwhile.
    heartbeatMs: 5_000,
    debounceMs: 20,
    registryIntervalMs: 50,
    telemetryIntervalMs: 200,
    telemetryFlushMs: 100,
    log: (l) => logs.push(l),
  });
  tokens.demo = mesh.token;
  tokens.other = await mesh.joinToken("other");
});

afterAll(async () => {
  await mesh?.close();
  await db.$disconnect();
});

describe("TCP ports (finding 1)", () => {
  it("a port announced by another namespace opens no listener on demo's sidecars", async () => {
    const victim = await join("demo", { service: "productpage" });
    const hostile = await join("other", { service: "secsvc", tcpPorts: [47123] });
    await settled(hostile);
    await settled(victim);
    // The registry took other/secsvc as a TCP service: give the push time to reach demo.
    await expect.poll(() => mesh.cp.stats().recomputes, { timeout: 5_000 }).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(tcpPortsOf(victim)).not.toContain("other/secsvc:47123");
    expect(tcpPortsOf(victim)).toEqual([]);
  });

  it("a namespace's own TCP service reaches its sidecars, and its listener goes when its last proxy does", async () => {
    const caller = await join("demo", { service: "web" });
    const dbProxy = await join("demo", { service: "db", tcpPorts: [47200] });
    await settled(dbProxy);
    await caller.until(() => tcpPortsOf(caller).includes("demo/db:47200"), 10_000, "demo/db at web");
    await dbProxy.close();
    await caller.until(() => tcpPortsOf(caller).length === 0, 10_000, "demo/db listener removed");
  });

  it("another namespace's TCP service binds on a sidecar that declared it among the services it calls", async () => {
    const dbProxy = await join("other", { service: "cache", tcpPorts: [47300] });
    await settled(dbProxy);
    const caller = await join("demo", { service: "worker", reachableServices: ["other/cache"] });
    await caller.until(
      () => tcpPortsOf(caller).includes("other/cache:47300"),
      10_000,
      "other/cache at worker",
    );
  });

  it("refuses a proxy that claims a port another live service of its namespace owns", async () => {
    const owner = await join("demo", { service: "mysql", tcpPorts: [47400] });
    await settled(owner);
    const squatter = await join("demo", { service: "mysql-shadow", tcpPorts: [47400] });
    await settled(squatter);
    expect(squatter.closeCode).toBe(4409);
    expect(squatter.errors.join("\n")).toMatch(/TCP_PORT_TAKEN: .*47400.*demo\/mysql/);
    const svc = await db.service.findUnique({
      where: { namespace_name: { namespace: "demo", name: "mysql-shadow" } },
    });
    expect(svc?.protocol ?? "http").toBe("http");
    // The owner still holds it.
    const mysql = await db.service.findUniqueOrThrow({
      where: { namespace_name: { namespace: "demo", name: "mysql" } },
    });
    expect({ protocol: mysql.protocol, port: mysql.port }).toEqual({ protocol: "tcp", port: 47400 });
  });

  it("refuses a proxy whose TCP port differs from the one its service's live proxies announce", async () => {
    const first = await join("demo", { service: "redis", tcpPorts: [47500] });
    await settled(first);
    const second = await join("demo", { service: "redis", version: "v2", tcpPorts: [47501] });
    await settled(second);
    expect(second.closeCode).toBe(4409);
    expect(second.errors.join("\n")).toMatch(/TCP_PORT_MISMATCH/);
    const redis = await db.service.findUniqueOrThrow({
      where: { namespace_name: { namespace: "demo", name: "redis" } },
    });
    expect(redis.port).toBe(47500);
  });
});

describe("telemetry (finding 2)", () => {
  /** Requests stored for `namespace/service → namespace/service`. */
  const stored = (src: string, dst: string) =>
    db.telemetryRollup
      .aggregate({
        where: {
          sourceNamespace: src.split("/")[0],
          sourceService: src.split("/")[1],
          destNamespace: dst.split("/")[0],
          destService: dst.split("/")[1],
        },
        _sum: { requests: true },
      })
      .then((r) => Number(r._sum.requests ?? 0n));

  it("drops a series the proxy's config gives it no way to be part of, and says why", async () => {
    const hostile = await join("other", { service: "spy", reachableServices: ["spy-peer"] });
    await settled(hostile);
    // other/spy → demo/reviews: it declared it calls only other/spy-peer, so it has no route to demo/reviews.
    hostile.sendTelemetry([
      series("outbound", ["other", "spy"], ["demo", "reviews"], {
        requests: 50_000,
        mtlsRequests: 0,
        buckets: [0, 0, 0, 0, 50_000, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      }),
    ]);
    // A series it is no part of at all.
    hostile.sendTelemetry([series("inbound", ["demo", "productpage"], ["demo", "reviews"])]);
    // One it is: kept, so the drops above are not a stream that never flushed.
    hostile.sendTelemetry([series("outbound", ["other", "spy"], ["unknown", "unknown"], { code: 404 })]);
    await expect.poll(() => stored("other/spy", "unknown/unknown"), { timeout: 5_000 }).toBe(10);
    expect(await stored("other/spy", "demo/reviews")).toBe(0);
    expect(await stored("demo/productpage", "demo/reviews")).toBe(0);
    expect(logs.join("\n")).toMatch(
      /other\/spy.*dropped 1 series: destination demo\/reviews is not in its config/,
    );
    expect(hostile.errors.join("\n")).toMatch(/TELEMETRY_REJECTED/);
    // The stream stays up.
    expect(hostile.closeCode).toBeNull();
  });

  it("refuses out-of-bounds numbers per series, keeps the stream and the valid series", async () => {
    const p = await join("other", { service: "bounds" });
    await settled(p);
    const ok = series("outbound", ["other", "bounds"], ["unknown", "unknown"], { code: 200 });
    p.sendTelemetry([
      // More mTLS requests than requests, buckets that do not add up, absurd durations and byte counts.
      series("outbound", ["other", "bounds"], ["unknown", "unknown"], { code: 201, mtlsRequests: 11 }),
      series("outbound", ["other", "bounds"], ["unknown", "unknown"], {
        code: 202,
        requests: 1e12,
        mtlsRequests: 0,
      }),
      series("outbound", ["other", "bounds"], ["unknown", "unknown"], { code: 203, durationSumMs: 1e15 }),
      series("outbound", ["other", "bounds"], ["unknown", "unknown"], { code: 204, bytesSent: 2 ** 60 }),
      series("outbound", ["other", "bounds"], ["unknown", "unknown"], { code: 205, requests: 3 }),
      ok,
    ]);
    await expect.poll(() => stored("other/bounds", "unknown/unknown"), { timeout: 5_000 }).toBe(10);
    expect(p.closeCode).toBeNull();
    expect(p.errors.join("\n")).toMatch(/TELEMETRY_REJECTED: 5 of 6 series/);
  });

  it("drops inbound series from callers that are no service of the mesh, and floods beyond two reports an interval", async () => {
    await join("demo", { service: "caller" });
    const p = await join("other", { service: "inbox" });
    await p.until(() => outbound(p).some((s) => s.name === "caller"), 10_000, "demo/caller registered");
    const from = (ns: string, svc: string, code: number) =>
      series("inbound", [ns, svc], ["other", "inbox"], { code });
    // A real caller, one without a sidecar, and an invented one.
    p.sendTelemetry([
      from("demo", "caller", 200),
      from("unknown", "unknown", 200),
      from("demo", "invented-123", 200),
    ]);
    await expect.poll(() => stored("demo/caller", "other/inbox"), { timeout: 5_000 }).toBe(10);
    await expect.poll(() => stored("unknown/unknown", "other/inbox"), { timeout: 5_000 }).toBe(10);
    expect(await stored("demo/invented-123", "other/inbox")).toBe(0);
    // 20,000 series in one interval (at least 10 s) are fine; more are refused whole, not stored.
    const refusedBefore = mesh.cp.stats().telemetryRefused;
    const many = (n: number, code: number) => Array.from({ length: n }, () => from("demo", "caller", code));
    p.sendTelemetry(many(10_000, 201));
    p.sendTelemetry(many(10_000, 201));
    p.sendTelemetry(many(10_000, 202));
    await expect
      .poll(() => mesh.cp.stats().telemetryRefused - refusedBefore, { timeout: 5_000 })
      .toBeGreaterThanOrEqual(10_000);
    expect(await db.telemetryRollup.count({ where: { destService: "inbox", statusCode: 202 } })).toBe(0);
    expect(p.closeCode).toBeNull();
  });

  it("stores access observations about the proxy's own service only, from callers of the mesh", async () => {
    await join("demo", { service: "caller" });
    const p = await join("other", { service: "vault" });
    await p.until(() => outbound(p).some((s) => s.name === "caller"), 10_000, "demo/caller registered");
    const obs = (
      source: [string, string],
      destination: [string, string],
      over: Record<string, unknown> = {},
    ) => ({
      source: { namespace: source[0], service: source[1] },
      destination: { namespace: destination[0], service: destination[1] },
      method: "GET",
      path: "/api/*",
      requests: 7,
      ...over,
    });
    const refusedBefore = mesh.cp.stats().telemetryRefused;
    p.sendTelemetry([], 10_000, [
      obs(["demo", "caller"], ["other", "vault"]),
      // About another service: only that service's sidecars observe its callers.
      obs(["demo", "caller"], ["demo", "reviews"], { requests: 1_000 }),
      // A caller that is no service of the mesh, a query string, a method outside the closed set.
      obs(["demo", "invented-9"], ["other", "vault"]),
      obs(["demo", "caller"], ["other", "vault"], { path: "/api?token=x" }),
      obs(["demo", "caller"], ["other", "vault"], { method: "BREW" }),
    ]);
    const stored = () =>
      db.telemetryAccessRollup.findMany({
        where: { destNamespace: { in: ["other", "demo"] } },
        select: { sourceService: true, destService: true, method: true, path: true, requests: true },
      });
    await expect
      .poll(stored, { timeout: 5_000 })
      .toEqual([
        { sourceService: "caller", destService: "vault", method: "GET", path: "/api/*", requests: 7n },
      ]);
    expect(mesh.cp.stats().telemetryRefused - refusedBefore).toBe(4);
    await p.until(
      () => p.errors.some((e) => /access observation must have the reporting proxy's service/.test(e)),
      5_000,
      "complaint",
    );
    expect(p.closeCode).toBeNull();
  });

  it("refuses names that are not names in a series", async () => {
    const p = await join("other", { service: "names" });
    await settled(p);
    p.sendTelemetry([
      series("outbound", ["other", "names"], ["unknown", "unknown"], { code: 200 }),
      {
        ...series("inbound", ["demo", "x"], ["other", "names"]),
        source: { namespace: "Demo/../x", service: "x", version: "v1" },
      },
    ]);
    await expect.poll(() => stored("other/names", "unknown/unknown"), { timeout: 5_000 }).toBe(10);
    expect(await db.telemetryRollup.count({ where: { sourceNamespace: "Demo/../x" } })).toBe(0);
  });
});

describe("hello bounds (finding 11)", () => {
  it("refuses a hello with thousands of labels, with a code the proxy logs, and stores nothing", async () => {
    const labels = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, "x".repeat(200)]));
    const p = await join("other", { service: "fat", labels });
    await settled(p);
    expect(p.closeCode).toBe(4422);
    expect(p.errors.join("\n")).toMatch(/HELLO_INVALID: node\.labels/);
    expect(
      await db.service.findUnique({ where: { namespace_name: { namespace: "other", name: "fat" } } }),
    ).toBeNull();
  });

  it("refuses label keys and values outside Kubernetes label syntax", async () => {
    for (const labels of [
      { "bad key": "x" },
      { app: "white space" },
      { [`${"a".repeat(64)}`]: "x" },
      { "-x": "y" },
    ] as Record<string, string>[]) {
      const p = await join("other", { service: "labels", labels });
      await settled(p);
      expect(p.closeCode, JSON.stringify(labels)).toBe(4422);
      expect(p.errors.join("\n")).toMatch(/HELLO_INVALID: node\.labels/);
      if ("bad key" in labels)
        expect(p.errors.join("\n")).toMatch(/node\.labels\.bad key: must be a Kubernetes label key/);
    }
    const good = await join("other", {
      service: "labels",
      labels: { app: "labels", "trellis.dev/tier": "back-end_1.2" },
    });
    await settled(good);
    expect(good.closeCode).toBeNull();
  });

  it("refuses an address that is not host:port and a proxy version that is not printable", async () => {
    const badAddress = await join("other", { service: "addr", address: "x".repeat(10) });
    await settled(badAddress);
    expect(badAddress.closeCode).toBe(4422);
    expect(badAddress.errors.join("\n")).toMatch(/HELLO_INVALID: node\.address/);
    const badVersion = await join("other", { service: "addr", proxyVersion: "1.0\u0000\n<script>" });
    await settled(badVersion);
    expect(badVersion.closeCode).toBe(4422);
    expect(badVersion.errors.join("\n")).toMatch(/HELLO_INVALID: node\.proxyVersion/);
  });

  it("still refuses a hello outside the token's scope, as FORBIDDEN", async () => {
    const p = await join("other", { service: "x" }, { token: tokens.other });
    await settled(p);
    expect(p.closeCode).toBeNull();
    const outside = await mesh.join({
      token: tokens.other!,
      node: { namespace: "demo", service: "reviews", version: "v1", address: "127.0.0.1:1", labels: {} },
    });
    await settled(outside);
    expect(outside.closeCode).toBe(4403);
  });
});
