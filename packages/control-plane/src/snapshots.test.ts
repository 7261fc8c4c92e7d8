// Snapshot building and encoding without a network: what a whole config and a delta look like on the wire,
// and that applying the delta (as every client does) gives the whole config.
import { describe, expect, it } from "vitest";
import { applyConfigDelta, ZControlPlaneMessage, type DeltaMessage } from "@trellis/contracts";
import {
  encodeFor,
  encodeWhole,
  endpointEdits,
  SnapshotBuilder,
  type CompileFn,
  type CompileInput,
  type Snapshot,
} from "./snapshots.js";

const input = (
  services: unknown[],
  head: Record<string, unknown> = {},
): CompileInput & { services: unknown[]; head: Record<string, unknown> } => ({
  proxy: { namespace: "shop", service: "web", version: "v1" },
  resources: [],
  registry: { services: [] },
  trustDomain: "trellis.local",
  services,
  head,
});
const compile: CompileFn = (i) => ({
  identity: i.proxy,
  ...(i as ReturnType<typeof input>).head,
  services: (i as ReturnType<typeof input>).services,
});
const svc = (name: string, endpoints = 1) => ({
  namespace: "shop",
  name,
  port: 80,
  endpoints: Array.from({ length: endpoints }, (_, k) => ({ address: `10.0.0.${k}:15006` })),
});

function build(services: unknown[], head?: Record<string, unknown>): Snapshot {
  const r = new SnapshotBuilder(compile).build(input(services, head));
  if (!r.ok) throw new Error(r.error);
  return r.snapshot;
}
const decode = (chunks: readonly Buffer[]) =>
  ZControlPlaneMessage.parse(JSON.parse(Buffer.concat(chunks).toString()));

describe("snapshots", () => {
  it("sends whole configs with services in canonical order, and versions them by content", () => {
    const a = build([svc("reviews"), svc("details")]);
    const msg = decode(encodeWhole(a).chunks);
    expect(msg.type).toBe("config");
    if (msg.type !== "config") return;
    expect((msg.config as { services: { name: string }[] }).services.map((s) => s.name)).toEqual([
      "details",
      "reviews",
    ]);
    // Same content, other builder (another recompute or replica), other input order: same version.
    expect(build([svc("details"), svc("reviews")]).version).toBe(a.version);
    expect(build([svc("details"), svc("reviews", 2)]).version).not.toBe(a.version);
  });

  it("sends only what changed: puts, removals and the head, and applying it gives the whole config", () => {
    const a = build([svc("details"), svc("ratings"), svc("reviews", 50)], {
      telemetry: { accessLog: false },
    });
    const b = build([svc("cart"), svc("details", 2), svc("reviews", 50)], { telemetry: { accessLog: true } });
    const enc = encodeFor(b, a);
    expect(enc.delta).toBe(true);
    expect(enc.bytes).toBeLessThan(encodeWhole(b).bytes / 3);
    const d = decode(enc.chunks) as DeltaMessage;
    expect(d).toMatchObject({ type: "delta", version: b.version, nonce: b.nonce, base: a.version });
    expect(d.services.put.map((s) => s.name)).toEqual(["cart", "details"]);
    expect(d.services.remove).toEqual(["shop/ratings:80"]);
    expect(d.config).toEqual({
      identity: { namespace: "shop", service: "web", version: "v1" },
      telemetry: { accessLog: true },
    });

    const whole = decode(encodeWhole(a).chunks);
    if (whole.type !== "config") throw new Error("not a config");
    const applied = applyConfigDelta(
      { version: a.version, config: whole.config as Record<string, unknown> },
      d,
    );
    const target = decode(encodeWhole(b).chunks);
    expect(applied.ok && JSON.stringify(applied.held.config)).toBe(
      JSON.stringify((target as { config: unknown }).config),
    );
    // Built once per (snapshot, base): every proxy of the group is sent the same Buffers.
    expect(encodeFor(b, a)).toBe(enc);
  });

  it("sends a join as the one endpoint it adds to each service, to proxies that apply endpoint edits", () => {
    // As the compiler does: endpoints sorted, each naming its workload.
    const ep = (n: number) => ({
      address: `10.0.0.${n}:15006`,
      version: "v1",
      labels: { workload: `w${n}` },
    });
    const svcOf = (name: string, ns: number[], extra: Record<string, unknown> = {}) => ({
      namespace: "shop",
      name,
      port: 80,
      endpoints: ns.map(ep),
      ...extra,
    });
    const a = build([
      svcOf("details", [1, 3, 5, 7, 9]),
      svcOf("ratings", [1, 2, 3, 4]),
      svcOf("reviews", [1]),
    ]);
    // details: 4 joined, 9 left; ratings: its routes changed too (sent whole); reviews: unchanged.
    const b = build([
      svcOf("details", [1, 3, 4, 5, 7]),
      svcOf("ratings", [1, 2, 3, 4, 5], { routes: [] }),
      svcOf("reviews", [1]),
    ]);
    const withEdits = encodeFor(b, a, true);
    const d = decode(withEdits.chunks) as DeltaMessage;
    expect(d.services.put.map((s) => s.name)).toEqual(["ratings"]);
    expect(d.services.endpoints).toEqual([
      {
        service: "shop/details:80",
        edits: [
          { at: 2, remove: 0, insert: [ep(4)] },
          { at: 5, remove: 1, insert: [] },
        ],
      },
    ]);
    // Proxies without the feature get the entry whole, and no `endpoints` at all (old proxies would drop it).
    const plain = encodeFor(b, a);
    expect(plain).not.toBe(withEdits);
    expect(Buffer.concat(plain.chunks).toString()).not.toContain('"endpoints":[{"service"');
    expect((decode(plain.chunks) as DeltaMessage).services.put.map((s) => s.name)).toEqual([
      "details",
      "ratings",
    ]);
    expect(withEdits.bytes).toBeLessThan(plain.bytes);
    expect(encodeFor(b, a, true)).toBe(withEdits);

    // Applied, both give exactly the whole config of b (the version is its content).
    const whole = decode(encodeWhole(a).chunks) as { config: Record<string, unknown> };
    const target = JSON.stringify((decode(encodeWhole(b).chunks) as { config: unknown }).config);
    for (const enc of [withEdits, plain]) {
      const applied = applyConfigDelta(
        { version: a.version, config: whole.config },
        decode(enc.chunks) as DeltaMessage,
      );
      expect(applied.ok && JSON.stringify(applied.held.config)).toBe(target);
    }
  });

  it("finds endpoint edits only when the endpoints kept are in the same order", () => {
    expect(endpointEdits(["a", "b", "c"], ["a", "c", "d"])).toEqual([
      '{"at":1,"remove":1,"insert":[]}',
      '{"at":2,"remove":0,"insert":[d]}',
    ]);
    expect(endpointEdits([], ["x", "y"])).toEqual(['{"at":0,"remove":0,"insert":[x,y]}']);
    expect(endpointEdits(["a", "b"], ["a", "b"])).toEqual([]);
    expect(endpointEdits(["a", "b"], ["b", "a"])).toBeNull();
    expect(endpointEdits(["a", "a"], ["a"])).toBeNull();
  });

  it("sends the whole config when there is no base, or when the delta would not be smaller", () => {
    const a = build([svc("details")]);
    const b = build([svc("reviews")]);
    expect(encodeFor(b, null).delta).toBe(false);
    expect(encodeFor(b, a).delta).toBe(false); // everything changed: the delta is larger than the config
  });

  it("refuses a config that has one service twice (a delta could not address it)", () => {
    const r = new SnapshotBuilder(compile).build(input([svc("details"), svc("details", 2)]));
    expect(r).toEqual({
      ok: false,
      error: "compiling failed: the compiled config has service shop/details:80 twice",
    });
  });

  it("fragments large messages into TLS-record-sized pieces", () => {
    const big = build(Array.from({ length: 300 }, (_, i) => svc(`s${String(i).padStart(3, "0")}`, 10)));
    const enc = encodeWhole(big);
    expect(enc.bytes).toBeGreaterThan(100_000);
    expect(Math.max(...enc.chunks.map((c) => c.length))).toBeLessThanOrEqual(16_384);
    expect(Buffer.concat(enc.chunks).length).toBe(enc.bytes);
  });
});
