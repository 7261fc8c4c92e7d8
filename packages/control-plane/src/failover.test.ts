// A proxy given several control-plane replicas (`trellis proxy --control-plane A,B`), with real parts: two
// replicas sharing the package's PostgreSQL, real sidecars (the data plane's mesh client) beside real apps,
// traffic over mTLS between them. A replica stops, goes silent behind a link that drops everything (no FIN:
// a host that died), refuses the stream while it shuts down, or is not there at all: the proxies move to the
// other one, keep serving throughout, and stop hammering when none answers.
import { createServer as httpsServer } from "node:https";
import type { Server } from "node:http";
import { createConnection, createServer as netServer, type AddressInfo, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import pg from "pg";
import { DEFAULT_TRUST_DOMAIN, MESH_CA_PATH, NOTIFY_CHANNELS } from "@trellis/contracts";
import { createDb } from "@trellis/db";
import { createJoinToken, SYSTEM_ACTOR } from "@trellis/services";
import { startMeshProxy, type MeshProxy } from "@trellis/dataplane/mesh";
import { MeshCa, meshCompiler, startControlPlane, type ControlPlane } from "./index.js";
import { callThrough, freePort, nameApp, TEST_MESH_SECRET } from "../test/support.js";

const NS = "failover";
const url = inject("databaseUrl");
const db = createDb(url);

const startReplica = (replicaId: string, port = 0) =>
  startControlPlane({
    // Slower than a pinged proxy's failover here (streamTimeoutMs 1 s), faster than the default 5 s.
    heartbeatMs: 1_500,
    databaseUrl: url,
    secret: TEST_MESH_SECRET,
    compile: meshCompiler(),
    port,
    replicaId,
    debounceMs: 20,
    registryIntervalMs: 100,
    telemetryIntervalMs: 500,
  });

let a: ControlPlane;
let b: ControlPlane;
let token = "";
const apps: Server[] = [];
const sidecars: MeshProxy[] = [];
const closers: (() => Promise<unknown> | void)[] = [];

async function sidecar(
  service: string,
  appPort: number,
  controlPlaneUrls: string[],
  opts: { streamTimeoutMs?: number; log?: string[] } = {},
) {
  const [inbound, outbound, admin] = [await freePort(), await freePort(), await freePort()];
  const m = startMeshProxy({
    controlPlaneUrls,
    token,
    node: { namespace: NS, service, version: "v1", address: `127.0.0.1:${inbound}`, labels: {} },
    app: { port: appPort },
    listeners: {
      inbound: { address: "127.0.0.1", port: inbound },
      outbound: { address: "127.0.0.1", port: outbound },
      admin: { address: "127.0.0.1", port: admin },
    },
    drainTimeoutMs: 1000,
    backoff: { baseMs: 100, maxMs: 1000 },
    ...(opts.streamTimeoutMs !== undefined ? { streamTimeoutMs: opts.streamTimeoutMs } : {}),
    log: (l) => {
      opts.log?.push(l);
      if (process.env.DEBUG_SIDECARS) console.log(`[${service}] ${l}`);
    },
  });
  sidecars.push(m);
  await m.ready;
  return { m, outbound };
}

/** Tells every replica that the database changed, as the console does after applying a change. */
async function announce(reason: string): Promise<void> {
  const gen = await db.configGeneration.create({ data: { reason } });
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`SELECT pg_notify($1, $2)`, [
    NOTIFY_CHANNELS.configChanged,
    JSON.stringify({ generation: gen.number }),
  ]);
  await c.end();
}

/**
 * A TCP relay on 127.0.0.1 to `to`. `freeze()` makes it a link that drops everything: bytes either way are
 * swallowed, neither side hears of the other closing, and a new connection leads nowhere, as when a host dies
 * or a cable is cut.
 */
async function relay(to: number) {
  let frozen = false;
  const held = new Set<Socket>();
  const server = netServer((client) => {
    held.add(client);
    client.on("close", () => held.delete(client));
    client.on("error", () => {});
    if (frozen) return;
    const upstream = createConnection({ host: "127.0.0.1", port: to });
    held.add(upstream);
    upstream.on("close", () => held.delete(upstream));
    const pipe = (from: Socket, into: Socket) => {
      from.on("data", (d) => (frozen ? undefined : into.write(d)));
      from.on("close", () => (frozen ? undefined : into.destroy()));
      from.on("error", () => {});
    };
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  closers.push(
    () =>
      new Promise((r) => {
        server.close(r);
        for (const s of held) s.destroy();
      }),
  );
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    freeze: () => void (frozen = true),
  };
}

/** Calls `service` through `outbound` in a loop until stopped; counts what failed. */
function load(outbound: number, service: string, expected: string) {
  const counts = { ok: 0, failed: [] as string[] };
  let running = true;
  const loops = Promise.all(
    Array.from({ length: 2 }, async () => {
      while (running) {
        const r = await callThrough(outbound, service);
        if (r.status === 200 && r.body === expected) counts.ok++;
        else counts.failed.push(`${r.status} ${r.body}`);
      }
    }),
  );
  return {
    counts,
    async stop() {
      running = false;
      await loops;
      return counts;
    },
  };
}

beforeAll(async () => {
  a = await startReplica("replica-a");
  b = await startReplica("replica-b");
  token = (await createJoinToken(db, SYSTEM_ACTOR, { namespace: NS })).token;
});

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.close()));
  await Promise.all(closers.map((c) => c()));
  await a?.close();
  await b?.close();
  for (const s of apps) s.close();
  await db.$disconnect();
});

describe("a proxy with several control-plane replicas", () => {
  it("moves to the next replica when its replica stops, losing no request, and takes config from it", async () => {
    const [web, reviews] = [await nameApp("web"), await nameApp("reviews")];
    apps.push(web.server, reviews.server);
    const list = [a.url, b.url];
    const caller = await sidecar("web", web.port, list);
    const callee = await sidecar("reviews", reviews.port, list);
    expect([caller.m.controlPlaneUrl(), callee.m.controlPlaneUrl()]).toEqual([a.url, a.url]);
    await expect.poll(async () => (await callThrough(caller.outbound, "reviews")).body).toBe("reviews");

    const traffic = load(caller.outbound, "reviews", "reviews");
    try {
      const stopped = Date.now();
      await a.close();
      await expect
        .poll(() => [caller.m.controlPlaneUrl(), callee.m.controlPlaneUrl()], { timeout: 5_000 })
        .toEqual([b.url, b.url]);
      // The replica said "reconnect to another replica" (1001): the next one is tried within the jitter.
      expect(Date.now() - stopped).toBeLessThan(3_000);
      // And on for a second through B.
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      const counts = await traffic.stop();
      expect(counts.failed).toEqual([]);
      expect(counts.ok).toBeGreaterThan(50);
    }
    // The registry says so too, and a change announced now reaches the caller through B alone.
    const rows = await db.workload.findMany({
      where: { status: "connected", service: { namespace: NS } },
      select: { controlPlaneId: true },
    });
    expect(rows.map((r) => r.controlPlaneId)).toEqual(["replica-b", "replica-b"]);
    // Both hold what B compiles for them: they said which version they serve, and B compiles the same one.
    await expect.poll(() => b.stats()).toMatchObject({ sessions: 2, inSync: 2 });
    const before = caller.m.proxy()!.currentVersion();
    await db.resource.create({
      data: {
        kind: "DestinationPolicy",
        namespace: NS,
        name: "reviews",
        spec: { service: "reviews", idleTimeout: "7s" },
      },
    });
    await announce("a change after the failover");
    await expect.poll(() => caller.m.proxy()!.currentVersion()).not.toBe(before);
    await expect.poll(() => b.stats()).toMatchObject({ sessions: 2, inSync: 2 });
    a = await startReplica("replica-a", Number(new URL(a.url).port));
  });

  it("gives up a replica gone silent (no FIN) within its stream timeout, by pings, and moves on", async () => {
    const app = await nameApp("ratings");
    apps.push(app.server);
    const link = await relay(Number(new URL(a.url).port));
    const log: string[] = [];
    const pinged = await sidecar("ratings", app.port, [link.url, b.url], { streamTimeoutMs: 1_000, log });
    // The same proxy without a useful bound (a minute): what TCP alone would notice in that time.
    const unpinged = await sidecar("ratings", app.port, [link.url, b.url], { streamTimeoutMs: 60_000 });
    expect([pinged.m.controlPlaneUrl(), unpinged.m.controlPlaneUrl()]).toEqual([link.url, link.url]);

    const frozen = Date.now();
    link.freeze();
    await expect.poll(() => pinged.m.controlPlaneUrl(), { timeout: 5_000, interval: 20 }).toBe(b.url);
    const tookMs = Date.now() - frozen;
    // Half the bound between pings, half for the answer, then the next replica's join.
    expect(tookMs).toBeLessThan(2_500);
    expect(log.join("\n")).toMatch(/lost the control plane https:\/\/127\.0\.0\.1:\d+ \(no answer to a ping/);
    // Nothing else told the proxies: the other one still believes in the dead link.
    expect(unpinged.m.controlPlaneUrl()).toBe(link.url);
    // A drops its side of the silent streams when its own heartbeat goes unanswered (1.5 to 3 s): that must
    // not unregister the proxy that lives on B now, nor take it out of callers' configs.
    await new Promise((r) => setTimeout(r, Math.max(0, frozen + 3_500 - Date.now())));
    const row = await db.workload.findUniqueOrThrow({ where: { id: pinged.m.workloadId()! } });
    expect([row.status, row.controlPlaneId]).toEqual(["connected", "replica-b"]);
    await expect.poll(async () => (await callThrough(pinged.outbound, "ratings")).body).toBe("ratings");
    expect(
      (await db.workload.findUniqueOrThrow({ where: { id: unpinged.m.workloadId()! } })).status,
      "the proxy A cannot hear is gone for A",
    ).toBe("disconnected");
  });

  it("joins through the next replica when the first is not there, or refuses the stream while it shuts down", async () => {
    const app = await nameApp("details");
    apps.push(app.server);
    const nobody = `https://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const first = await sidecar("details", app.port, [nobody, b.url]);
    expect(first.m.controlPlaneUrl()).toBe(b.url);
    // A refused connect costs no backoff: the next replica is tried at once.
    expect(Date.now() - started).toBeLessThan(5_000);

    // A replica that answers the upgrade with 503, as one shutting down does. With a listener for
    // `unexpected-response`, ws leaves the handshake open; the proxy must end it and move on, not wait forever.
    const ca = await MeshCa.loadOrCreate(db, { secret: TEST_MESH_SECRET, trustDomain: DEFAULT_TRUST_DOMAIN });
    const serving = await ca.issueServing(["127.0.0.1"], 3_600_000);
    const refused: string[] = [];
    const stopping = httpsServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
      if (req.url === MESH_CA_PATH) res.end(ca.certPem);
      else res.writeHead(404).end();
    });
    stopping.on("upgrade", (req, socket: Socket) => {
      refused.push(req.url ?? "");
      socket.end(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\ncontrol plane shutting down; reconnect to another replica\n",
      );
    });
    await new Promise<void>((r) => stopping.listen(0, "127.0.0.1", () => r()));
    closers.push(() => new Promise((r) => stopping.close(r)));
    const stoppingUrl = `https://127.0.0.1:${(stopping.address() as AddressInfo).port}`;
    const log: string[] = [];
    const second = await sidecar("details", app.port, [stoppingUrl, b.url], { log });
    expect(second.m.controlPlaneUrl()).toBe(b.url);
    expect(refused).toEqual(["/v1/stream"]);
    expect(log.join("\n")).toMatch(/refused the stream \(HTTP 503\): control plane shutting down/);
  });

  it("goes round the list, then backs off: no replica answering is not a busy loop", async () => {
    // Two "replicas" that accept TCP and hang up at once: every connect fails in its TLS handshake.
    const hits: string[] = [];
    const dead = async (name: string) => {
      const s = netServer((c) => (hits.push(name), c.destroy()));
      await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
      closers.push(() => new Promise((r) => s.close(r)));
      return `https://127.0.0.1:${(s.address() as AddressInfo).port}`;
    };
    const [x, y] = [await dead("x"), await dead("y")];
    const app = await nameApp("feed");
    apps.push(app.server);
    const log: string[] = [];
    // Joined through B, which then stops: the proxy serves on and tries x, y, B, x, … with backoff.
    const feed = await sidecar("feed", app.port, [b.url, x, y], { log });
    await b.close();
    // What it holds once B is gone (a push may still have reached it before: registry changes from elsewhere).
    const version = feed.m.proxy()!.currentVersion();
    await new Promise((r) => setTimeout(r, 3_000));
    // In order, one after the other: never the same replica twice in a row.
    expect(hits.length).toBeGreaterThanOrEqual(4);
    expect(hits.every((h, i) => i === 0 || h !== hits[i - 1])).toBe(true);
    // Backoff (100 ms doubling to 1 s here) once per round: a handful of rounds in 3 s, not hundreds.
    expect(hits.length).toBeLessThan(60);
    expect(feed.m.connected()).toBe(false);
    expect(log.join("\n")).toMatch(
      /no control plane answered \(https:\/\/127\.0\.0\.1:\d+, .*\); serving config \S+, trying again in \d+\.\d s/,
    );
    expect(feed.m.proxy()!.currentVersion()).toBe(version);
    // Back: B restarts on its port, and the proxy finds it on a later round.
    b = await startReplica("replica-b", Number(new URL(b.url).port));
    await expect.poll(() => feed.m.controlPlaneUrl(), { timeout: 10_000 }).toBe(b.url);
  });
});
