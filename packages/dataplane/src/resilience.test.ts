// Resilience through real sockets: retries, per-try timeout, outlier ejection, circuit breaking, rate limits,
// fault injection, active health checks, and an upstream killed under load.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { startProxy, type ProxyHandle } from "./index.js";
import { client, IDENTITY, startApp, type TestApp } from "./test-support/apps.js";

const L0 = { address: "127.0.0.1", port: 0 };
const apps: TestApp[] = [];
let proxy: ProxyHandle | null = null;
const c = client();

async function up(services: unknown[]): Promise<number> {
  proxy = await startProxy({
    config: { version: "1", identity: IDENTITY, services },
    listeners: { outbound: L0, admin: L0, inbound: null },
    log: () => {},
  });
  return proxy.addresses.outbound!.port;
}
async function app(name: string, override?: Parameters<typeof startApp>[1]): Promise<TestApp> {
  const a = await startApp(name, override);
  apps.push(a);
  return a;
}
const svc = (endpoints: TestApp[] | string[], extra: Record<string, unknown> = {}) => ({
  name: "api",
  namespace: "shop",
  mtls: false,
  endpoints: endpoints.map((e) => ({ address: typeof e === "string" ? e : e.address })),
  ...extra,
});
/** An address where nothing listens. */
async function deadAddress(): Promise<string> {
  const a = await startApp("dead");
  const addr = a.address;
  await a.close();
  return addr;
}

afterEach(async () => {
  await proxy?.close();
  proxy = null;
  await Promise.all(apps.splice(0).map((a) => a.close()));
});
beforeAll(() => {});
afterAll(async () => {
  await c.close();
});

describe("retries", () => {
  it("retries 5xx on another endpoint and succeeds", async () => {
    const bad = await app("bad", (_q, s) => {
      s.writeHead(503).end("no");
      return true;
    });
    const good = await app("good");
    const port = await up([
      svc([bad, good], { routes: [{ retries: { attempts: 2, backoffBaseMs: 1, backoffMaxMs: 2 } }] }),
    ]);
    for (let i = 0; i < 10; i++) expect((await c.get(port, "/r", { host: "api" })).status).toBe(200);
    expect(bad.hits).toBeGreaterThan(0);
  });

  it("does not retry POST by default, and retries connect failures", async () => {
    const bad = await app("bad", (_q, s) => {
      s.writeHead(500).end("no");
      return true;
    });
    const port = await up([
      svc([bad], { routes: [{ retries: { attempts: 3, backoffBaseMs: 1, backoffMaxMs: 2 } }] }),
    ]);
    expect((await c.get(port, "/p", { host: "api" }, "POST")).status).toBe(500);
    expect(bad.hits).toBe(1);
    expect((await c.get(port, "/g", { host: "api" })).status).toBe(500);
    expect(bad.hits).toBe(1 + 4);
  });

  it("fails over from a refused endpoint: connect failure is retried, 503 named when all fail", async () => {
    const dead = await deadAddress();
    const good = await app("good");
    const port = await up([
      svc([dead, good.address], {
        routes: [{ retries: { attempts: 2, backoffBaseMs: 1, backoffMaxMs: 2 } }],
      }),
    ]);
    for (let i = 0; i < 6; i++) expect((await c.get(port, "/x", { host: "api" })).status).toBe(200);
    await proxy!.close();
    const port2 = await up([svc([dead])]);
    const r = await c.get(port2, "/x", { host: "api" });
    expect(r.status).toBe(503);
    expect(r.headers["x-trellis-error"]).toBe("DP_UPSTREAM_CONNECT_FAILURE");
  });

  it("bounds each try with the per-try timeout and retries the slow one", async () => {
    let n = 0;
    const flaky = await app("flaky", (_q, s) => {
      if (n++ === 0) setTimeout(() => s.end("late"), 1500);
      else s.end("fast");
      return true;
    });
    const port = await up([
      svc([flaky], {
        routes: [
          {
            timeoutMs: 3000,
            retries: { attempts: 2, perTryTimeoutMs: 100, backoffBaseMs: 1, backoffMaxMs: 2 },
          },
        ],
      }),
    ]);
    const t0 = performance.now();
    const r = await c.get(port, "/slow", { host: "api" });
    expect(r.status).toBe(200);
    expect(r.text).toBe("fast");
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe("upstream errors", () => {
  it("maps a reset to 502 DP_UPSTREAM_RESET and a hung upstream to 504 DP_UPSTREAM_TIMEOUT", async () => {
    const rude = await app("rude", (q, s) => {
      if (q.url === "/reset") s.socket?.destroy();
      return q.url === "/reset" || q.url === "/hang";
    });
    const port = await up([svc([rude], { routes: [{ timeoutMs: 200 }] })]);
    const r = await c.get(port, "/reset", { host: "api" });
    expect(r.status).toBe(502);
    expect(r.headers["x-trellis-error"]).toBe("DP_UPSTREAM_RESET");
    const h = await c.get(port, "/hang", { host: "api" });
    expect(h.status).toBe(504);
    expect(h.headers["x-trellis-error"]).toBe("DP_UPSTREAM_TIMEOUT");
  });
});

describe("outlier detection", () => {
  it("ejects an endpoint after consecutive 5xx, re-admits it later, never beyond maxEjectionPercent", async () => {
    const bad = await app("bad", (_q, s) => {
      s.writeHead(500).end("no");
      return true;
    });
    const good = await app("good");
    const port = await up([
      svc([bad, good], {
        policy: { outlierDetection: { consecutive5xx: 2, baseEjectionMs: 300, maxEjectionPercent: 50 } },
      }),
    ]);
    for (let i = 0; i < 6; i++) await c.get(port, "/o", { host: "api" });
    const hitsAfterEjection = bad.hits;
    expect(hitsAfterEjection).toBe(2);
    for (let i = 0; i < 10; i++) expect((await c.get(port, "/o", { host: "api" })).status).toBe(200);
    expect(bad.hits).toBe(hitsAfterEjection);
    const clusters = (await (
      await request(`http://127.0.0.1:${proxy!.addresses.admin!.port}/clusters`)
    ).body.json()) as { clusters: { endpoints: { address: string; ejected: boolean }[] }[] };
    expect(clusters.clusters[0]!.endpoints.find((e) => e.address === bad.address)!.ejected).toBe(true);
    await new Promise((r) => setTimeout(r, 350));
    for (let i = 0; i < 4; i++) await c.get(port, "/o", { host: "api" });
    expect(bad.hits).toBeGreaterThan(hitsAfterEjection);
  });
});

describe("circuit breaking", () => {
  it("sheds requests beyond maxRequests with 503 DP_CIRCUIT_OPEN", async () => {
    const slow = await app("slow", (_q, s) => {
      setTimeout(() => s.end("ok"), 200);
      return true;
    });
    const port = await up([
      svc([slow], { policy: { circuitBreaker: { maxConnections: 2, maxPending: 0, maxRequests: 2 } } }),
    ]);
    const rs = await Promise.all(Array.from({ length: 6 }, () => c.get(port, "/cb", { host: "api" })));
    const ok = rs.filter((r) => r.status === 200).length;
    const shed = rs.filter(
      (r) => r.status === 503 && r.headers["x-trellis-error"] === "DP_CIRCUIT_OPEN",
    ).length;
    expect(ok).toBe(2);
    expect(shed).toBe(4);
  });
});

describe("rate limits and faults", () => {
  it("answers 429 beyond the route's token bucket", async () => {
    const a = await app("a");
    const port = await up([svc([a], { routes: [{ rateLimit: { requestsPerSecond: 2, burst: 3 } }] })]);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await c.get(port, "/rl", { host: "api" })).status);
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(4);
  });

  it("injects aborts and delays by percentage", async () => {
    const a = await app("a");
    const port = await up([
      svc([a], {
        routes: [
          { match: { path: { prefix: "/abort" } }, fault: { abort: { percent: 100, status: 418 } } },
          { match: { path: { prefix: "/half" } }, fault: { abort: { percent: 50, status: 503 } } },
          { match: { path: { prefix: "/delay" } }, fault: { delay: { percent: 100, ms: 120 } } },
        ],
      }),
    ]);
    const r = await c.get(port, "/abort", { host: "api" });
    expect(r.status).toBe(418);
    expect(r.headers["x-trellis-error"]).toBe("DP_FAULT_ABORT");
    expect(a.hits).toBe(0);
    let aborted = 0;
    for (let i = 0; i < 200; i++) if ((await c.get(port, "/half", { host: "api" })).status === 503) aborted++;
    expect(aborted).toBeGreaterThan(60);
    expect(aborted).toBeLessThan(140);
    const t0 = performance.now();
    expect((await c.get(port, "/delay", { host: "api" })).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(115);
  });
});

describe("active health checks", () => {
  it("takes an endpoint that fails its probe out of rotation", async () => {
    const sick = await app("sick", (q, s) => {
      if (q.url === "/healthz") {
        s.writeHead(500).end();
        return true;
      }
      return false;
    });
    const well = await app("well");
    const port = await up([
      svc([sick, well], { policy: { healthCheck: { intervalMs: 50, unhealthyThreshold: 1 } } }),
    ]);
    await new Promise((r) => setTimeout(r, 200));
    const before = sick.hits;
    for (let i = 0; i < 10; i++)
      expect((await c.get(port, "/h", { host: "api" })).headers["x-app"]).toBe("well");
    // Only probes reached the sick endpoint.
    expect(sick.seen.slice(before).every((s) => s.url === "/healthz")).toBe(true);
  });
});

describe("under load", () => {
  it("serves every request while good and bad configs are pushed under load", async () => {
    const a = await app("a");
    const b = await app("b");
    const cfg = (v: number) => ({ version: String(v), identity: IDENTITY, services: [svc([v % 2 ? a : b])] });
    const port = await up([svc([a])]);
    let stop = false;
    const pusher = (async () => {
      for (let v = 2; !stop; v++) {
        const bad = v % 3 === 0;
        const r = proxy!.applyConfig(
          bad
            ? { ...cfg(v), services: [{ name: "api", namespace: "shop", endpoints: [{ address: "nope" }] }] }
            : cfg(v),
        );
        expect(r.ok).toBe(!bad);
        await new Promise((res) => setTimeout(res, 5));
      }
    })();
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 100; i++) statuses.push((await c.get(port, "/swap", { host: "api" })).status);
      }),
    );
    stop = true;
    await pusher;
    expect(statuses).toHaveLength(400);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(a.hits).toBeGreaterThan(0);
    expect(b.hits).toBeGreaterThan(0);
  });

  it("keeps the success rate up when an upstream is killed mid-load (retries + ejection)", async () => {
    const a = await app("a");
    const b = await app("b");
    const port = await up([
      svc([a, b], {
        routes: [{ retries: { attempts: 2, backoffBaseMs: 1, backoffMaxMs: 5, budgetPercent: 100 } }],
        policy: {
          outlierDetection: {
            consecutive5xx: 3,
            consecutiveGatewayFailures: 1,
            baseEjectionMs: 10_000,
            maxEjectionPercent: 50,
          },
        },
      }),
    ]);
    let ok = 0;
    let total = 0;
    const worker = async () => {
      for (let i = 0; i < 150; i++) {
        const r = await c.get(port, "/load", { host: "api" });
        total++;
        if (r.status === 200) ok++;
        if (total === 200) void b.close();
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    expect(total).toBe(600);
    expect(ok / total).toBeGreaterThanOrEqual(0.99);
  });
});
