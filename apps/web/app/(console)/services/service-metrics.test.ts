import { describe, expect, it } from "vitest";
import type { ObservedEdge } from "@trellis/contracts";
import { pointRows, serviceMetrics, seriesRows, sparklineShape } from "./service-metrics";

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
    protocols: ["http1"],
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
      vip: null,
      createdAt: "2026-11-22T08:00:00.000Z",
    },
    {
      namespace: "shop",
      name: "ratings",
      versions: ["v1"],
      workloads: 1,
      healthyWorkloads: 1,
      vip: null,
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

describe("sparklineShape", () => {
  const point = (rps: number, errorRate = 0) => ({
    t: "2026-11-22T08:00:00.000Z",
    requests: rps * 60,
    rps,
    errorRate,
  });

  it("scales the rate to the busiest step and draws the 5xx part on the same scale", () => {
    const s = sparklineShape([point(0), point(2, 0.5), point(1)], 100, 22);
    expect(s.rps).toBe("0,21 50,1 100,11");
    expect(s.errors).toBe("0,21 50,11 100,21");
    expect(s).toMatchObject({ peakRps: 2, peakErrorRate: 0.5 });
  });

  it("lies flat at the bottom without calls, and draws one step across the box", () => {
    expect(sparklineShape([point(0), point(0)], 100, 22)).toMatchObject({ rps: "0,21 100,21", peakRps: 0 });
    expect(sparklineShape([point(3)], 100, 22).rps).toBe("0,1 100,1");
  });
});

describe("pointRows", () => {
  it("puts every metric of a step in one row, error share in %, and leaves out latencies without calls", () => {
    const at = (m: string) => `2026-11-22T08:0${m}:00.000Z`;
    expect(
      pointRows([
        { t: at("4"), requests: 0, rps: 0, errorRate: 0, p50Ms: null, p95Ms: null, p99Ms: null },
        { t: at("5"), requests: 60, rps: 1, errorRate: 0.25, p50Ms: 2, p95Ms: 8, p99Ms: 9 },
      ]),
    ).toEqual([
      { t: "08:04", rps: 0, errorPct: 0 },
      { t: "08:05", rps: 1, errorPct: 25, p50Ms: 2, p95Ms: 8, p99Ms: 9 },
    ]);
  });
});
