import { describe, expect, it } from "vitest";
import type { ProxySummary, ProxySyncState } from "@trellis/contracts";
import { ago, filterFrom, filterOptions, filterProxies, syncCounts } from "./proxy-rows";

const NOW = "2026-11-22T08:00:00.000Z";

function proxy(namespace: string, service: string, state: ProxySyncState): ProxySummary {
  return {
    id: `${namespace}/${service}/${state}`,
    namespace,
    service,
    version: "v1",
    address: "127.0.0.1:1",
    identity: `spiffe://trellis.local/ns/${namespace}/sa/${service}`,
    status: "connected",
    proxyVersion: "0.1.0",
    ackedVersion: "cfg",
    nackedVersion: null,
    nackReason: null,
    sync: { state, generation: 1, targetVersion: "cfg", reason: null },
    connectedAt: NOW,
    lastSeenAt: NOW,
    certificateExpires: null,
  };
}

const items = [
  proxy("shop", "reviews", "in_sync"),
  proxy("shop", "web", "nacked"),
  proxy("pay", "api", "pending"),
];

describe("proxy rows", () => {
  it("filters by namespace, service and sync state together", () => {
    const ids = (f: Parameters<typeof filterProxies>[1]) => filterProxies(items, f).map((p) => p.id);
    expect(ids({ namespace: "shop", service: "", sync: "" })).toEqual([
      "shop/reviews/in_sync",
      "shop/web/nacked",
    ]);
    expect(ids({ namespace: "", service: "", sync: "nacked" })).toEqual(["shop/web/nacked"]);
    expect(ids({ namespace: "pay", service: "web", sync: "" })).toEqual([]);
  });

  it("offers the services of the chosen namespace only", () => {
    expect(filterOptions(items, "")).toEqual({
      namespaces: ["pay", "shop"],
      services: ["api", "reviews", "web"],
    });
    expect(filterOptions(items, "shop").services).toEqual(["reviews", "web"]);
  });

  it("reads a filter from the query string and drops a sync state that does not exist", () => {
    expect(filterFrom({ namespace: "shop", sync: "nacked" })).toEqual({
      namespace: "shop",
      service: "",
      sync: "nacked",
    });
    expect(filterFrom({ sync: "broken", service: ["a", "b"] })).toEqual({
      namespace: "",
      service: "",
      sync: "",
    });
  });

  it("counts sync states and says how long ago", () => {
    expect(syncCounts(items)).toEqual({ in_sync: 1, pending: 1, nacked: 1 });
    const now = Date.parse(NOW);
    expect([ago(NOW, now + 4_000), ago(NOW, now + 125_000), ago(NOW, now + 7_300_000)]).toEqual([
      "4 s ago",
      "2 min ago",
      "2 h ago",
    ]);
  });
});
