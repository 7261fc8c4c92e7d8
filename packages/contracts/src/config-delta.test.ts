import { describe, expect, it } from "vitest";
import {
  applyConfigDelta,
  compareOutboundServices,
  outboundServiceKey,
  type HeldConfig,
} from "./config-delta.js";
import type { z } from "zod";
import { ZControlPlaneMessage, ZProxyMessage, type DeltaMessage, type ZDeltaMessage } from "./mesh-stream.js";

const svc = (name: string, extra: Record<string, unknown> = {}) => ({
  namespace: "shop",
  name,
  port: 9080,
  endpoints: [{ address: `10.0.0.1:15006` }],
  ...extra,
});

const held: HeldConfig = {
  version: "A",
  config: {
    identity: { namespace: "shop", service: "web", version: "v1", trustDomain: "trellis.local" },
    telemetry: { accessLog: false },
    services: [svc("details"), svc("ratings"), svc("reviews")],
  },
};

function delta(d: Partial<z.input<typeof ZDeltaMessage>>): DeltaMessage {
  return ZControlPlaneMessage.parse({
    type: "delta",
    version: "B",
    nonce: "n",
    base: "A",
    ...d,
  }) as DeltaMessage;
}

describe("applyConfigDelta", () => {
  it("replaces changed services, removes and adds, and keeps the canonical order", () => {
    const r = applyConfigDelta(
      held,
      delta({
        services: {
          put: [svc("reviews", { endpoints: [] }), svc("cart"), svc("zoo")],
          remove: ["shop/ratings:9080"],
        },
      }),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.held.version).toBe("B");
    const services = r.held.config.services as { name: string; endpoints: unknown[] }[];
    expect(services.map((s) => s.name)).toEqual(["cart", "details", "reviews", "zoo"]);
    expect(services.find((s) => s.name === "reviews")!.endpoints).toEqual([]);
    // The rest of the config is untouched, and the held config is not mutated.
    expect(r.held.config.telemetry).toEqual({ accessLog: false });
    expect((held.config.services as unknown[]).length).toBe(3);
  });

  it("replaces everything but the services when the delta carries a config", () => {
    const r = applyConfigDelta(
      held,
      delta({ config: { identity: held.config.identity, telemetry: { accessLog: true } } }),
    );
    expect(r.ok && r.held.config).toEqual({ ...held.config, telemetry: { accessLog: true } });
  });

  it("refuses a delta for another base, or one that removes what is not held", () => {
    expect(applyConfigDelta(held, delta({ base: "Z" }))).toEqual({
      ok: false,
      error: "delta against Z, but the config held is A",
    });
    expect(applyConfigDelta(null, delta({})).ok).toBe(false);
    const r = applyConfigDelta(held, delta({ services: { put: [], remove: ["shop/cart:80"] } }));
    expect(r).toEqual({
      ok: false,
      error: "delta removes service shop/cart:80, which the config held lacks",
    });
  });

  it("edits one service's endpoint list in place, keeping the entry's other fields and key order", () => {
    const ep = (n: number) => ({ address: `10.0.0.${n}:15006`, labels: { workload: `w${n}` } });
    const base: HeldConfig = {
      version: "A",
      config: {
        services: [
          { namespace: "shop", name: "cart", port: 9080, endpoints: [ep(1), ep(3), ep(5)], routes: [] },
          svc("details"),
        ],
      },
    };
    const r = applyConfigDelta(
      base,
      delta({
        services: {
          endpoints: [
            {
              service: "shop/cart:9080",
              // Remove 3, then insert 2 before 1 and 4 after it: [2, 1, 4, 5].
              edits: [
                { at: 1, remove: 1 },
                { at: 0, insert: [ep(2)] },
                { at: 2, insert: [ep(4)] },
              ],
            },
          ],
        },
      }),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const cart = (r.held.config.services as Record<string, unknown>[])[0]!;
    expect(cart.endpoints).toEqual([ep(2), ep(1), ep(4), ep(5)]);
    // Same keys in the same order: a config rebuilt from edits serializes as the whole one does.
    expect(Object.keys(cart)).toEqual(["namespace", "name", "port", "endpoints", "routes"]);
    // The held config is not mutated.
    expect((base.config.services as { endpoints: unknown[] }[])[0]!.endpoints).toHaveLength(3);
  });

  it("refuses endpoint edits for a service not held, or past the end of its list", () => {
    expect(
      applyConfigDelta(
        held,
        delta({ services: { endpoints: [{ service: "shop/cart:80", edits: [{ at: 0, insert: [] }] }] } }),
      ),
    ).toEqual({ ok: false, error: "delta edits endpoints of shop/cart:80, which the config held lacks" });
    expect(
      applyConfigDelta(
        held,
        delta({ services: { endpoints: [{ service: "shop/details:9080", edits: [{ at: 1, remove: 1 }] }] } }),
      ),
    ).toEqual({ ok: false, error: "delta edits endpoints 1..2 of shop/details:9080, which has 1" });
  });

  it("keys and orders services by namespace, name and port (port 80 when absent)", () => {
    expect(outboundServiceKey({ namespace: "a", name: "b" })).toBe("a/b:80");
    const sorted = [
      { namespace: "b", name: "a" },
      { namespace: "a", name: "z", port: 81 },
      { namespace: "a", name: "z" },
      { namespace: "a", name: "Z" },
    ].sort(compareOutboundServices);
    expect(sorted.map(outboundServiceKey)).toEqual(["a/Z:80", "a/z:80", "a/z:81", "b/a:80"]);
  });

  it("is part of the stream protocol: delta and resync parse, entries must name their service", () => {
    expect(ZProxyMessage.safeParse({ type: "resync", version: "B", nonce: "n", reason: "x" }).success).toBe(
      true,
    );
    expect(ZProxyMessage.safeParse({ type: "hello", node: {}, csr: "x" }).success).toBe(false);
    const bad = ZControlPlaneMessage.safeParse({
      type: "delta",
      version: "B",
      nonce: "n",
      base: "A",
      services: { put: [{ name: "x" }] },
    });
    expect(bad.success).toBe(false);
  });
});
