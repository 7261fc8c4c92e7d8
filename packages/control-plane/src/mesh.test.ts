// The whole loop with real parts: sidecars (the data plane's mesh client and proxy) beside real HTTP apps,
// joined to a real control plane with a join token, config compiled from resources in PostgreSQL, traffic
// over mTLS between the sidecars. Then a Route change, telemetry landing in rollups, a generated config the
// proxies refuse (NACK) while traffic keeps flowing, and the control plane going away under traffic.
import { request, type Server } from "node:http";
import { createConnection, createServer as netServer, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import pg from "pg";
import { NOTIFY_CHANNELS } from "@trellis/contracts";
import { createDb } from "@trellis/db";
import { createJoinToken, SYSTEM_ACTOR } from "@trellis/services";
import { fetchPinnedCa, generateKeyAndCsr, startMeshProxy, type MeshProxy } from "@trellis/dataplane/mesh";
import { LightProxy } from "./testing.js";
import { meshCompiler, startControlPlane, type CompileFn, type ControlPlane } from "./index.js";
import { callThrough, freePort, nameApp, TEST_MESH_SECRET } from "../test/support.js";

const NS = "mesh";
const url = inject("databaseUrl");
const db = createDb(url);

/** What productpage's app does: call `reviews` through its own sidecar's outbound listener. */
const callReviews = (outboundPort: number) => callThrough(outboundPort, "reviews");

async function tally(outboundPort: number, n: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await callReviews(outboundPort);
    const key = r.status === 200 ? r.body : `HTTP ${r.status}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/**
 * The real compiler, plus a switch that makes it generate configs the proxies refuse: the control plane's
 * schema accepts them, but a running proxy cannot move its outbound listener, so it NACKs and keeps serving.
 */
let refuseFor: string | null = null;
const realCompile = meshCompiler();
const compile: CompileFn = (input) => {
  const config = realCompile(input);
  if (refuseFor !== input.proxy.service) return config;
  return { ...config, listeners: { outbound: { address: "127.0.0.1", port: 1 } } };
};
const startCp = () =>
  startControlPlane({
    databaseUrl: url,
    secret: TEST_MESH_SECRET,
    compile,
    port: cpPort,
    debounceMs: 20,
    registryIntervalMs: 100,
    telemetryIntervalMs: 200,
  });

/** Tells the control plane that the database changed, as the console does after applying a change. */
async function announce(reason: string): Promise<{ id: string; number: number }> {
  const gen = await db.configGeneration.create({ data: { reason } });
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`SELECT pg_notify($1, $2)`, [
    NOTIFY_CHANNELS.configChanged,
    JSON.stringify({ generation: gen.number }),
  ]);
  await c.end();
  return gen;
}

let cp: ControlPlane;
let cpPort = 0;
let token = "";
const apps: Server[] = [];
const sidecars: MeshProxy[] = [];
let productpageOutbound = 0;

async function sidecar(
  service: string,
  version: string,
  appPort: number,
  on = cp,
  app: { address?: string; tcpPorts?: number[] } = {},
) {
  const [inbound, outbound, admin] = [await freePort(), await freePort(), await freePort()];
  const m = startMeshProxy({
    controlPlaneUrls: [on.url],
    token,
    node: { namespace: NS, service, version, address: `127.0.0.1:${inbound}`, labels: {} },
    app: { port: appPort, ...app },
    listeners: {
      inbound: { address: "127.0.0.1", port: inbound },
      outbound: { address: "127.0.0.1", port: outbound },
      admin: { address: "127.0.0.1", port: admin },
    },
    drainTimeoutMs: 1000,
    backoff: { baseMs: 100, maxMs: 1000 },
    log: process.env.DEBUG_SIDECARS ? (l) => console.log(`[${service}] ${l}`) : () => {},
  });
  sidecars.push(m);
  await m.ready;
  return { m, outbound, admin };
}

beforeAll(async () => {
  cpPort = await freePort();
  cp = await startCp();
  token = (await createJoinToken(db, SYSTEM_ACTOR, { namespace: NS })).token;
  const [v1, v2, pp] = [
    await nameApp("reviews-v1"),
    await nameApp("reviews-v2"),
    await nameApp("productpage"),
  ];
  apps.push(v1.server, v2.server, pp.server);
  productpageOutbound = (await sidecar("productpage", "v1", pp.port)).outbound;
  await sidecar("reviews", "v1", v1.port);
  await sidecar("reviews", "v2", v2.port);
});

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.close()));
  await cp?.close();
  for (const a of apps) a.close();
  await db.$disconnect();
});

describe("a mesh of real sidecars", () => {
  it("routes productpage → reviews over mTLS to both versions when no Route says otherwise", async () => {
    // Endpoints arrive as the reviews proxies join: wait until both versions answer.
    await expect
      .poll(async () => Object.keys(await tally(productpageOutbound, 20)).sort(), { timeout: 10_000 })
      .toEqual(["reviews-v1", "reviews-v2"]);
    const certs = sidecars.map((s) => s.certificate()?.spiffeId);
    expect(certs).toEqual([
      "spiffe://trellis.local/ns/mesh/sa/productpage",
      "spiffe://trellis.local/ns/mesh/sa/reviews",
      "spiffe://trellis.local/ns/mesh/sa/reviews",
    ]);
  });

  it("applies a Route from the database on every proxy, acknowledged per generation", async () => {
    await db.resource.create({
      data: {
        kind: "Route",
        namespace: NS,
        name: "reviews-v2-only",
        spec: { service: "reviews", rules: [{ backends: [{ version: "v2" }] }] },
      },
    });
    const gen = await announce("all reviews traffic to v2");

    await expect
      .poll(
        async () =>
          (await db.proxyConfigStatus.findMany({ where: { generationId: gen.id } }))
            .map((s) => s.state)
            .sort(),
        { timeout: 10_000 },
      )
      .toEqual(["acked", "acked", "acked"]);
    expect(await tally(productpageOutbound, 20)).toEqual({ "reviews-v2": 20 });
  });

  it("refuses to start with a trust domain other than the one its CA certifies", async () => {
    await expect(
      startControlPlane({
        databaseUrl: url,
        secret: TEST_MESH_SECRET,
        compile,
        port: 0,
        trustDomain: "other.example",
      }),
    ).rejects.toThrow(/certifies trust domain "trellis.local", not "other.example"/);
  });

  it("lands the sidecars' telemetry in the per-minute rollups, from both sides of each call, over mTLS", async () => {
    const before = await reviewsTraffic();
    expect(await tally(productpageOutbound, 30)).toEqual({ "reviews-v2": 30 });
    // Both sidecars report every 200 ms here; the control plane adds their deltas into the minute's row.
    await expect
      .poll(async () => {
        const now = await reviewsTraffic();
        return {
          outbound: now.outbound - before.outbound >= 30,
          inbound: now.inbound - before.inbound >= 30,
        };
      })
      .toEqual({ outbound: true, inbound: true });
    const rows = await db.telemetryRollup.findMany({
      where: { destNamespace: NS, destService: "reviews", destVersion: "v2", statusCode: 200 },
    });
    for (const r of rows) {
      expect(r).toMatchObject({ sourceNamespace: NS, sourceService: "productpage", sourceVersion: "v1" });
      // Every call went over mTLS, and every one of them is in exactly one latency bucket.
      expect(r.mtlsRequests).toBe(r.requests);
      expect(r.latencyBuckets.reduce((a, b) => a + b, 0n)).toBe(r.requests);
      expect(r.durationSumMs).toBeGreaterThan(0);
    }
    // The callee's sidecars also said what productpage asked for (decision 006): by method and path prefix.
    await expect
      .poll(async () =>
        (
          await db.telemetryAccessRollup.groupBy({
            by: ["sourceService", "method", "path"],
            where: { destNamespace: NS, destService: "reviews" },
            _sum: { requests: true },
          })
        ).map((g) => `${g.sourceService} ${g.method} ${g.path} ${g._sum.requests! >= 30n}`),
      )
      .toContainEqual(expect.stringMatching(/^productpage GET \/\S* true$/));
  });

  it("records a NACK with the proxy's reason when it refuses a generated config, and traffic keeps flowing", async () => {
    const served = sidecars[0]!.proxy()!.currentVersion();
    refuseFor = "productpage";
    try {
      const gen = await announce("a config productpage's proxy cannot apply");
      await expect
        .poll(async () =>
          (
            await db.proxyConfigStatus.findMany({
              where: { generationId: gen.id },
              include: { workload: { include: { service: true } } },
            })
          )
            .map((s) => `${s.workload.service.name}:${s.state}`)
            .sort(),
        )
        .toEqual(["productpage:nacked", "reviews:acked", "reviews:acked"]);
      const nack = await db.proxyConfigStatus.findFirst({
        where: { generationId: gen.id, state: "nacked" },
        include: { workload: true },
      });
      expect(nack?.reason).toMatch(/listener/i);
      expect(nack?.workload).toMatchObject({ nackReason: nack?.reason });
      // The proxy still serves its last good config.
      expect(sidecars[0]!.proxy()!.currentVersion()).toBe(served);
      expect(await tally(productpageOutbound, 20)).toEqual({ "reviews-v2": 20 });
    } finally {
      refuseFor = null;
    }
    // Fixed at the source, the next generation is acked everywhere.
    const fixed = await announce("back to a config every proxy accepts");
    await expect
      .poll(async () =>
        (await db.proxyConfigStatus.findMany({ where: { generationId: fixed.id } }))
          .map((s) => s.state)
          .sort(),
      )
      .toEqual(["acked", "acked", "acked"]);
  });

  it("loses no request while the control plane is killed and restarted under load, and resyncs without a push", async () => {
    const results = { ok: 0, failed: 0 };
    let running = true;
    // Four callers in a loop through productpage's sidecar, for the whole outage.
    const load = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (running) {
          const r = await callReviews(productpageOutbound).catch(() => ({ status: 0, body: "" }));
          if (r.status === 200 && r.body === "reviews-v2") results.ok++;
          else results.failed++;
        }
      }),
    );
    try {
      await cp.close();
      await expect.poll(() => sidecars.every((s) => !s.connected()), { timeout: 5_000 }).toBe(true);
      const versions = sidecars.map((s) => s.proxy()!.currentVersion());
      cp = await startCp();
      await expect.poll(() => sidecars.every((s) => s.connected()), { timeout: 10_000 }).toBe(true);
      await cp.refresh();
      // Reconnected proxies said which version they serve; nothing changed, so nothing was resent.
      expect(sidecars.map((s) => s.proxy()!.currentVersion())).toEqual(versions);
      expect(cp.stats().pushes).toBe(0);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      running = false;
      await load;
    }
    expect(results.failed).toBe(0);
    expect(results.ok).toBeGreaterThan(50);
  });
});

describe("a new sidecar's first report", () => {
  it("reaches the rollups seconds after its first calls, then the proxy reports at its interval", async () => {
    // Proxies are told to report every 30 s; the first calls must still be in PostgreSQL within a few seconds.
    const slow = await startControlPlane({
      databaseUrl: url,
      secret: TEST_MESH_SECRET,
      compile: realCompile,
      port: 0,
      debounceMs: 20,
      registryIntervalMs: 100,
      telemetryIntervalMs: 30_000,
      telemetryFlushMs: 200,
    });
    const [details, ratings] = [await nameApp("details"), await nameApp("ratings")];
    apps.push(details.server, ratings.server);
    const mine: MeshProxy[] = [];
    try {
      const caller = await sidecar("details", "v1", details.port, slow);
      mine.push(caller.m, (await sidecar("ratings", "v1", ratings.port, slow)).m);
      const callRatings = () =>
        new Promise<number>((resolve, reject) => {
          const req = request(
            {
              host: "127.0.0.1",
              port: caller.outbound,
              path: "/",
              headers: { host: "ratings" },
              timeout: 5000,
            },
            (res) => {
              res.resume();
              res.on("end", () => resolve(res.statusCode ?? 0));
            },
          );
          req.on("error", reject);
          req.end();
        });
      await expect.poll(callRatings, { timeout: 10_000 }).toBe(200);
      const seen = () =>
        db.telemetryRollup
          .aggregate({
            where: {
              sourceNamespace: NS,
              sourceService: "details",
              destService: "ratings",
              reporter: "outbound",
            },
            _sum: { requests: true },
          })
          .then((r) => Number(r._sum.requests ?? 0n));
      // Before, the first report went out a whole interval (here 30 s) after the proxy joined.
      await expect.poll(seen, { timeout: 6_000, interval: 100 }).toBeGreaterThan(0);
      // After that first report it waits its interval: more calls now are not in the rollups 4 s later.
      const before = await seen();
      for (let i = 0; i < 5; i++) expect(await callRatings()).toBe(200);
      await new Promise((r) => setTimeout(r, 4_000));
      expect(await seen()).toBe(before);
    } finally {
      for (const m of mine) sidecars.splice(sidecars.indexOf(m), 1);
      await Promise.all(mine.map((m) => m.close()));
      await slow.close();
    }
  });
});

describe("a TCP service", () => {
  it("is declared by its proxies' --tcp-port: callers reach it on that port, over mTLS, through the push", async () => {
    // The app on 127.0.0.2, so that productpage's sidecar can listen for it on 127.0.0.1 at the same port (on
    // separate hosts, as in a real mesh, both would be 127.0.0.1).
    const echo = netServer((c) => c.pipe(c));
    const port = await new Promise<number>((r) =>
      echo.listen(0, "127.0.0.2", () => r((echo.address() as AddressInfo).port)),
    );
    try {
      const db1 = await sidecar("db", "v1", port, cp, { address: "127.0.0.2", tcpPorts: [port] });
      const service = await db.service.findUniqueOrThrow({
        where: { namespace_name: { namespace: NS, name: "db" } },
      });
      expect({ protocol: service.protocol, port: service.port }).toEqual({ protocol: "tcp", port });
      // Before, the service stayed "http" on port 80: no caller had a TCP listener for it.
      const roundTrip = () =>
        new Promise<string>((resolve, reject) => {
          const c = createConnection({ host: "127.0.0.1", port }, () => c.write("ping"));
          let got = "";
          c.setEncoding("utf8");
          c.setTimeout(2_000, () => c.destroy());
          c.on("data", (d: string) => {
            got += d;
            if (got.length >= 4) c.end();
          });
          c.on("close", () => resolve(got));
          c.on("error", reject);
        });
      await expect.poll(() => roundTrip().catch((e: Error) => e.message), { timeout: 10_000 }).toBe("ping");
      const stats = await new Promise<string>((resolve, reject) =>
        request({ host: "127.0.0.1", port: db1.admin, path: "/stats/prometheus" }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => resolve(body));
        })
          .on("error", reject)
          .end(),
      );
      // It went through the db sidecar's inbound TCP path, not around it.
      expect(stats).toMatch(/trellis_tcp_connections_total\{listener="inbound"\} [1-9]/);
      sidecars.splice(sidecars.indexOf(db1.m), 1);
      await db1.m.close();
      // Its last proxy gone, nothing announces the port: productpage's sidecar closes it (issue 15: before,
      // the listener stayed for good).
      await expect.poll(() => listening(port), { timeout: 10_000 }).toBe(false);
    } finally {
      echo.close();
    }
  });

  it("announced by another namespace's token, opens no port on this namespace's sidecars", async () => {
    // Issue 15 finding 1: a join token for `other` announcing a port made every sidecar of the mesh bind it.
    const port = await freePort();
    const otherToken = (await createJoinToken(db, SYSTEM_ACTOR, { namespace: "other" })).token;
    const { csrPem } = await generateKeyAndCsr();
    const hostile = new LightProxy({
      url: cp.url,
      token: otherToken,
      caPem: await fetchPinnedCa(cp.url, otherToken),
      csrPem,
      node: {
        namespace: "other",
        service: "secsvc",
        version: "v1",
        address: "127.0.0.1:1",
        labels: {},
        tcpPorts: [port],
      },
    });
    await hostile.connect();
    try {
      await hostile.until(() => hostile.appliedVersion !== null, 10_000, "hostile proxy joined");
      const service = await db.service.findUniqueOrThrow({
        where: { namespace_name: { namespace: "other", name: "secsvc" } },
      });
      expect({ protocol: service.protocol, port: service.port }).toEqual({ protocol: "tcp", port });
      // Every sidecar of `mesh` has had a push since (the registry changed); give one more round to be sure.
      await cp.refresh();
      await new Promise((r) => setTimeout(r, 1_000));
      expect(await listening(port)).toBe(false);
    } finally {
      await hostile.close();
    }
  });
});

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: "127.0.0.1", port }, () => {
      c.destroy();
      resolve(true);
    });
    c.on("error", () => resolve(false));
  });
}

/** Requests to reviews counted so far by each side, from the rollups. */
async function reviewsTraffic(): Promise<{ inbound: number; outbound: number }> {
  const rows = await db.telemetryRollup.groupBy({
    by: ["reporter"],
    where: { destNamespace: NS, destService: "reviews" },
    _sum: { requests: true },
  });
  const get = (r: string) => Number(rows.find((x) => x.reporter === r)?._sum.requests ?? 0n);
  return { inbound: get("inbound"), outbound: get("outbound") };
}
