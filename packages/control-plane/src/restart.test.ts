// A control-plane restart must not become a join storm (docs/decisions/019, "a restart"): the registrations a
// stopped replica kept stay while its proxies are still rejoining, even when that takes longer than the
// stale-workload sweep waits, and a proxy that never comes back is still removed, within a stated bound.
// Real sockets (light proxies over TLS), a real replica restarted on the same port, the package's PostgreSQL.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import WebSocket from "ws";
import { MESH_STREAM_PATH } from "@trellis/contracts";
import { createDb } from "@trellis/db";
import { meshCompiler, startControlPlane, type ControlPlaneOptions } from "./index.js";
import { sweepStaleWorkloads } from "./registry.js";
import type { LightProxy } from "./testing.js";
import { startTestControlPlane, TEST_MESH_SECRET, type TestControlPlane } from "../test/support.js";

const NS = "restart";
const url = inject("databaseUrl");
const db = createDb(url);
/** The sweep's `staleAfterMs` here: long enough for a light proxy to rejoin on a loaded machine. */
const STALE_MS = 3_000;

const options = {
  databaseUrl: url,
  compile: meshCompiler(),
  heartbeatMs: 500,
  workloadStaleAfterMs: STALE_MS,
  // Housekeeping (heartbeat to the registry, the sweep) runs every min(10 s, this): every 200 ms here.
  telemetryIntervalMs: 200,
  debounceMs: 20,
  registryIntervalMs: 100,
} satisfies Omit<ControlPlaneOptions, "secret">;

let mesh: TestControlPlane;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Each service's proxy listens on a port of its own (rejoining, on the same one). */
const ports = new Map<string, number>();

async function join(service: string, workloadId?: string): Promise<LightProxy> {
  if (!ports.has(service)) ports.set(service, 20100 + ports.size);
  const address = `127.0.0.1:${ports.get(service)}`;
  const p = await mesh.join({
    node: { namespace: NS, service, version: "v1", address, labels: {} },
    ...(workloadId ? { workloadId } : {}),
  });
  await p.until(() => p.workloadId !== null, 15_000, `${service} welcomed`);
  return p;
}

const rows = async (ids: string[]) =>
  await db.workload.findMany({
    where: { id: { in: ids } },
    select: { id: true, status: true, connectedAt: true, disconnectedAt: true },
    orderBy: { id: "asc" },
  });

beforeAll(async () => {
  mesh = await startTestControlPlane(db, NS, options);
});

afterAll(async () => {
  await mesh?.close();
  // A replica that closes keeps the registrations of streams still open then: other files' services must not
  // find these connected.
  await db.workload.updateMany({
    where: { service: { namespace: NS }, status: "connected" },
    data: { status: "disconnected", disconnectedAt: new Date() },
  });
  await db.$disconnect();
});

describe("a control-plane restart slower than the stale-workload sweep", () => {
  it("keeps the registrations while proxies rejoin, and sweeps one that never returns after the last rejoin", async () => {
    const services = ["rejoin-a", "rejoin-b", "rejoin-c", "gone-d"];
    const first = await Promise.all(services.map((s) => join(s)));
    const ids = first.map((p) => p.workloadId!);
    const port = mesh.cp.port;
    // Streams closed with 1001, registrations kept (a crash leaves the same rows: connected, no heartbeat).
    await mesh.cp.close();
    await Promise.all(first.map((p) => p.until(() => p.closeCode !== null, 5_000, "closed")));
    // Every registration is stale by the time the new replica starts.
    await sleep(STALE_MS + 500);
    mesh.cp = await startControlPlane({ ...options, secret: TEST_MESH_SECRET, port });
    const started = Date.now();

    // rejoin-a, -b and -c come back one after another, the last well after the new replica's own grace
    // (STALE_MS after its start) and long after every stale heartbeat; gone-d never does.
    let lastRejoin = 0;
    for (const [i, service] of services.slice(0, 3).entries()) {
      if (i > 0) await sleep(STALE_MS / 2);
      await join(service, ids[i]);
      lastRejoin = Date.now();
      // Nobody was swept meanwhile: the ones not back yet are still there for their proxies.
      expect((await rows(ids)).map((r) => r.status)).toEqual(services.map(() => "connected"));
    }
    expect(lastRejoin - started).toBeGreaterThan(STALE_MS);
    await sleep(STALE_MS / 2);
    expect((await rows([ids[3]!]))[0]!.status).toBe("connected");

    // Then no rejoin for STALE_MS: gone-d is swept, the three that came back stay.
    await expect
      .poll(async () => (await rows([ids[3]!]))[0]!.status, { timeout: STALE_MS * 3, interval: 100 })
      .toBe("disconnected");
    const after = await rows(ids);
    expect(after.filter((r) => r.status === "connected").map((r) => r.id)).toEqual(ids.slice(0, 3).sort());
    const c = after.find((r) => r.id === ids[2])!;
    const d = after.find((r) => r.id === ids[3])!;
    // Not before STALE_MS after the last rejoin (both timestamps are the replica's clock).
    expect(d.disconnectedAt!.getTime() - c.connectedAt.getTime()).toBeGreaterThanOrEqual(STALE_MS);
  }, 60_000);

  it("sweeps a workload stale beyond maxStaleMs even while others keep rejoining", async () => {
    // Two registrations whose replica went silent. Their streams go first (a close marks them gone, and the
    // replica would heartbeat live ones), then the rows are made what a silent replica leaves behind.
    const [young, old] = [await join("silent-f"), await join("silent-g")];
    const silent = [young.workloadId!, old.workloadId!];
    await Promise.all([young.close(), old.close()]);
    await expect
      .poll(async () => (await rows(silent)).map((r) => r.status))
      .toEqual(["disconnected", "disconnected"]);
    // A rejoin just now: the fleet is still coming back (the replica's own sweep waits too, from here on).
    const rejoining = await join("rejoin-e");
    await join("rejoin-e", rejoining.workloadId!);
    // Last heartbeats 2 and 5 STALE_MS ago.
    const ago = (n: number) => new Date(Date.now() - n * STALE_MS);
    await db.$transaction([
      db.workload.update({
        where: { id: young.workloadId! },
        data: { status: "connected", disconnectedAt: null, lastSeenAt: ago(2) },
      }),
      db.workload.update({
        where: { id: old.workloadId! },
        data: { status: "connected", disconnectedAt: null, lastSeenAt: ago(5) },
      }),
    ]);
    const swept = await sweepStaleWorkloads(db, { staleAfterMs: STALE_MS, maxStaleMs: 4 * STALE_MS });
    expect(swept).toBeGreaterThanOrEqual(1);
    const status = Object.fromEntries((await rows(silent)).map((r) => [r.id, r.status]));
    expect(status).toEqual({ [young.workloadId!]: "connected", [old.workloadId!]: "disconnected" });
  }, 60_000);

  it("sweeps nothing while a stream of the new replica is still joining", async () => {
    const p = await join("joining-h");
    const id = p.workloadId!;
    const port = mesh.cp.port;
    await mesh.cp.close();
    await sleep(STALE_MS + 500);
    mesh.cp = await startControlPlane({ ...options, secret: TEST_MESH_SECRET, port });
    // A proxy in the middle of its rejoin: stream open, hello not sent (the replica waits 10 s for it).
    const ws = new WebSocket(new URL(MESH_STREAM_PATH, mesh.cp.url), {
      ca: mesh.caPem,
      headers: { authorization: `Bearer ${mesh.token}` },
    });
    await new Promise((r, f) => ws.once("open", r).once("error", f));
    try {
      // Past the replica's own grace (STALE_MS after its start), no rejoin registered anywhere meanwhile.
      await sleep(2 * STALE_MS);
      expect((await rows([id]))[0]!.status).toBe("connected");
    } finally {
      ws.close();
    }
    await expect
      .poll(async () => (await rows([id]))[0]!.status, { timeout: STALE_MS * 3, interval: 100 })
      .toBe("disconnected");
  }, 60_000);
});
