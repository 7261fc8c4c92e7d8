import { describe, expect, it } from "vitest";
import type { ObservedEdge } from "@trellis/contracts";
import { serviceMetrics, seriesRows } from "./service-metrics";

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

describe("seriesRows", () => {
  const pt = (t: string, rps: number, p95Ms: number | null) => ({
    t,
    requests: 0,
    rps,
    errorRate: rps > 1 ? 0.5 : 0,
    p50Ms: null,
    p95Ms,
    p99Ms: null,
  });
  it("makes one row per step with a column per series, leaving unknown latencies out", () => {
    const series = [
      { key: "v1", points: [pt("2026-11-22T08:01:00.000Z", 2, 10), pt("2026-11-22T08:00:00.000Z", 1, null)] },
      { key: "v2", points: [pt("2026-11-22T08:00:00.000Z", 0.5, 30)] },
    ];
    expect(seriesRows(series, "rps")).toEqual([
      { t: "08:00", v1: 1, v2: 0.5 },
      { t: "08:01", v1: 2 },
    ]);
    expect(seriesRows(series, "p95Ms")).toEqual([
      { t: "08:00", v2: 30 },
      { t: "08:01", v1: 10 },
    ]);
    expect(seriesRows(series, "errorRate")[1]).toEqual({ t: "08:01", v1: 50 });
  });
});
