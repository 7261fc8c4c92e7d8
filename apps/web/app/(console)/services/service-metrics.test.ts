import { describe, expect, it } from "vitest";
import type { ObservedEdge } from "@trellis/contracts";
import { serviceMetrics } from "./service-metrics";

function edge(src: string, dst: string, requests: number, errorRate: number, p99Ms: number): ObservedEdge {
  return {
    source: { namespace: "shop", service: src, version: "*" },
    destination: { namespace: "shop", service: dst, version: "*" },
    requests,
    rps: requests / 300,
    errorRate,
    p50Ms: p99Ms / 4,
    p95Ms: p99Ms / 2,
    p99Ms,
    mtlsShare: 1,
    protocol: "http",
    codes: {},
  };
}

describe("serviceMetrics", () => {
  const services = [
    {
      namespace: "shop",
      name: "reviews",
      versions: ["v1", "v2"],
      workloads: 2,
      healthyWorkloads: 1,
      createdAt: "2026-11-22T08:00:00.000Z",
    },
    {
      namespace: "shop",
      name: "ratings",
      versions: ["v1"],
      workloads: 1,
      healthyWorkloads: 1,
      createdAt: "2026-11-22T08:00:00.000Z",
    },
  ];

  it("sums the calls into each service and weighs their errors by requests", () => {
    const rows = serviceMetrics(services, [
      edge("frontend", "reviews", 900, 0, 40),
      edge("batch", "reviews", 100, 0.5, 90),
    ]);
    const reviews = rows.find((r) => r.service === "reviews")!;
    expect(reviews.requests).toBe(1000);
    expect(reviews.rps).toBeCloseTo(1000 / 300);
    expect(reviews.successRate).toBeCloseTo(0.95);
    expect(reviews.callers).toBe(2);
    // The slowest caller's quantile bounds the service's from above.
    expect(reviews.p99Ms).toBe(90);
    expect(reviews.healthyWorkloads).toBe(1);
  });

  it("lists idle registered services without a success rate, and destinations outside the registry", () => {
    const rows = serviceMetrics(services, [edge("frontend", "legacy", 10, 0, 5)]);
    expect(rows.map((r) => [r.service, r.registered, r.successRate])).toEqual([
      ["legacy", false, 1],
      ["ratings", true, null],
      ["reviews", true, null],
    ]);
  });
});
