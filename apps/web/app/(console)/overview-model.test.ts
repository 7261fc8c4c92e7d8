import { describe, expect, it } from "vitest";
import type { ChangeSummary } from "@trellis/contracts";
import { countOf, latestApplied, topByErrorRate } from "./overview-model";
import type { ServiceMetrics } from "./services/service-metrics";

function metrics(service: string, rps: number, successRate: number | null): ServiceMetrics {
  return {
    namespace: "shop",
    service,
    versions: ["v1"],
    workloads: 1,
    healthyWorkloads: 1,
    registered: true,
    requests: rps * 300,
    rps,
    successRate,
    p50Ms: null,
    p95Ms: null,
    p99Ms: null,
    callers: 1,
  };
}

function change(number: number, appliedAt: string | null): ChangeSummary {
  return {
    id: `c${number}`,
    number,
    title: `change ${number}`,
    status: "applied",
    source: "console",
    author: "erin",
    namespaces: ["shop"],
    operationCount: 1,
    requiredApprovals: 1,
    approvalCount: 1,
    rollbackOf: null,
    createdAt: "2026-11-22T08:00:00.000Z",
    updatedAt: "2026-11-22T08:00:00.000Z",
    appliedAt,
  };
}

describe("overview model", () => {
  it("ranks services by error rate, busiest first among equals, leaving out idle and unknown ones", () => {
    const rows = [
      metrics("web", 10, 1),
      metrics("reviews", 2, 0.8),
      metrics("idle", 0, null),
      metrics("unknown", 5, 0.1),
      metrics("ratings", 20, 1),
      metrics("db", 1, 0.95),
    ];
    expect(topByErrorRate(rows, 3).map((r) => [r.service, Number(r.errorRate.toFixed(2))])).toEqual([
      ["reviews", 0.2],
      ["db", 0.05],
      ["ratings", 0],
    ]);
  });

  it("picks the change applied last, not the newest proposed", () => {
    const items = [
      change(3, "2026-11-22T08:01:00.000Z"),
      change(2, "2026-11-22T08:05:00.000Z"),
      change(1, null),
    ];
    expect(latestApplied(items)?.number).toBe(2);
    expect(latestApplied([])).toBeNull();
  });

  it("says when a limited list may hold more", () => {
    expect([countOf([1, 2], 200), countOf(new Array(200).fill(0), 200)]).toEqual(["2", "200+"]);
  });
});
