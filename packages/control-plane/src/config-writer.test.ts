// The paced config writer alone, over a real WebSocket pair on 127.0.0.1: what reaches the proxy (whole or delta),
// that nothing comes between a message's fragments, that a newer snapshot replaces one still waiting, and that
// the snapshots it keeps as delta bases are held and released in pairs.
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { applyConfigDelta, ZControlPlaneMessage, type HeldConfig } from "@trellis/contracts";
import { ConfigWriter } from "./config-writer.js";
import { PushQueue } from "./push-queue.js";
import { CHUNK_BYTES, encodeFor, SnapshotBuilder, type CompileFn, type Snapshot } from "./snapshots.js";

const compile: CompileFn = (i) => ({ identity: i.proxy, services: (i as unknown as { s: unknown[] }).s });
const svc = (name: string, endpoints = 1) => ({
  namespace: "shop",
  name,
  port: 80,
  // Long enough that a config spans several fragments.
  endpoints: Array.from({ length: endpoints }, (_, k) => ({ address: `10.0.${k >> 8}.${k & 255}:15006` })),
});
function snapshot(...services: unknown[]): Snapshot {
  const r = new SnapshotBuilder(compile).build({
    proxy: { namespace: "shop", service: "web", version: "v1" },
    resources: [],
    registry: { services: [] },
    trustDomain: "trellis.local",
    s: services,
  } as never);
  if (!r.ok) throw new Error(r.error);
  return r.snapshot;
}

const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

/** A server-side socket and the client that reads it, as a proxy would. */
async function pair(): Promise<{ server: WebSocket; received: string[]; next(): Promise<string> }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  open.push(wss);
  await once(wss, "listening");
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  open.push({ close: () => client.terminate() });
  const [server] = (await once(wss, "connection")) as [WebSocket];
  const received: string[] = [];
  const waiters: ((m: string) => void)[] = [];
  client.on("message", (d) => {
    const m = d.toString();
    const w = waiters.shift();
    if (w) w(m);
    else received.push(m);
  });
  await once(client, "open");
  return {
    server,
    received,
    next: () =>
      received.length > 0
        ? Promise.resolve(received.shift()!)
        : new Promise<string>((resolve) => waiters.push(resolve)),
  };
}

function writer(ws: WebSocket, queue = new PushQueue()) {
  const held = new Map<string, number>();
  const written: boolean[] = [];
  const w = new ConfigWriter(ws, {
    encode: encodeFor,
    lookup: () => null,
    hold: (s) => held.set(s.version, (held.get(s.version) ?? 0) + 1),
    release: (s) => held.set(s.version, (held.get(s.version) ?? 0) - 1),
    pushes: queue,
    onWritten: (e) => written.push(e.delta),
  });
  return { w, held, written };
}

describe("config writer", () => {
  it("writes the first config whole and the next as a delta against it, when the proxy takes deltas", async () => {
    const { server, next } = await pair();
    const { w, held, written } = writer(server);
    w.deltas = true;
    const a = snapshot(svc("details"), svc("reviews"));
    const b = snapshot(svc("details"), svc("reviews", 2));
    expect(w.push(a)).toBe(true);
    expect(w.push(a)).toBe(false); // already on its way
    const first = ZControlPlaneMessage.parse(JSON.parse(await next()));
    expect(first.type).toBe("config");
    expect(w.push(b)).toBe(true);
    const second = ZControlPlaneMessage.parse(JSON.parse(await next()));
    expect(second.type).toBe("delta");
    expect(written).toEqual([false, true]);
    // Applying the delta to what the proxy holds gives b.
    if (first.type !== "config" || second.type !== "delta") return;
    const holding: HeldConfig = { version: first.version, config: first.config as Record<string, unknown> };
    const applied = applyConfigDelta(holding, second);
    expect(applied.ok && applied.held.version).toBe(b.version);
    expect(applied.ok && (applied.held.config.services as unknown[]).length).toBe(2);
    // b is held as the base of the next delta; a was let go.
    expect(Object.fromEntries(held)).toEqual({ [a.version]: 0, [b.version]: 1 });
    w.close();
    expect(held.get(b.version)).toBe(0);
  });

  it("writes whole configs to a proxy that does not take deltas, and holds no base for it", async () => {
    const { server, next } = await pair();
    const { w, held } = writer(server);
    w.push(snapshot(svc("details")));
    await next();
    w.push(snapshot(svc("details", 3)));
    expect(JSON.parse(await next()).type).toBe("config");
    expect(held.size).toBe(0);
  });

  it("holds other messages back until every fragment of a config is out", async () => {
    const { server, next } = await pair();
    // The push queue starts the write at once: the message is sent while fragments are on their way.
    const { w } = writer(server);
    const big = snapshot(svc("reviews", 2_000));
    expect(encodeFor(big, null).chunks.length).toBeGreaterThan(2);
    expect(encodeFor(big, null).bytes).toBeGreaterThan(2 * CHUNK_BYTES);
    w.push(big);
    w.send(JSON.stringify({ type: "error", code: "TEST", message: "after the config" }));
    expect(JSON.parse(await next()).type).toBe("config");
    expect(JSON.parse(await next()).code).toBe("TEST");
  });

  it("replaces a snapshot still waiting for the push queue with a newer one", async () => {
    const { server, next, received } = await pair();
    // No room in the queue until the blocker is done: the proxy's pushes wait.
    const queue = new PushQueue(1);
    let unblock!: () => void;
    queue.enqueue({ writePending: (done) => (unblock = done) });
    const { w } = writer(server, queue);
    const a = snapshot(svc("a"));
    const b = snapshot(svc("b"));
    w.push(a);
    w.push(b);
    unblock();
    const only = JSON.parse(await next());
    expect(only.version).toBe(b.version);
    await new Promise((r) => setTimeout(r, 50));
    expect(received).toEqual([]);
  });

  it("sends the whole config again after a resync for the version it wrote, and ignores one for an older", async () => {
    const { server, next } = await pair();
    const { w, written } = writer(server);
    w.deltas = true;
    const a = snapshot(svc("a"));
    const b = snapshot(svc("a"), svc("b"));
    w.push(a);
    await next();
    w.push(b);
    expect(JSON.parse(await next()).type).toBe("delta");
    expect(w.resync(a.version)).toBe(false);
    expect(w.resync(b.version)).toBe(true);
    const again = JSON.parse(await next());
    expect([again.type, again.version]).toEqual(["config", b.version]);
    expect(written).toEqual([false, true, false]);
  });

  it("writes nothing once closed", async () => {
    const { server, received } = await pair();
    const { w } = writer(server);
    w.close();
    expect(w.push(snapshot(svc("a")))).toBe(false);
    w.send("{}");
    await new Promise((r) => setTimeout(r, 50));
    expect(received).toEqual([]);
  });
});
