import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LATENCY_BUCKETS_MS } from "@trellis/contracts";
import { createDb } from "@trellis/db";
import {
  AppError,
  queryEdgeTotals,
  queryTraffic,
  quantile,
  serviceSeries,
  serviceSparklines,
  trafficClock,
  type Actor,
} from "./index.js";
import { minuteAgo, seedRollups } from "./testing.js";

const db = createDb(inject("databaseUrl"));
const NOW = new Date("2026-11-22T12:30:30Z");
const minute = (ago: number) => minuteAgo(ago, NOW.getTime());
const admin: Actor = {
  kind: "user",
  userId: "u-admin",
  name: "admin",
  via: "api",
  bindings: [{ role: "admin", namespace: "*" }],
};
const shopViewer: Actor = {
  kind: "user",
  userId: "u-v",
  name: "vic",
  via: "api",
  bindings: [{ role: "viewer", namespace: "tr-shop" }],
};

/** `n` requests at `ms` each (a bucket bound: the histogram holds them all in the bucket with that bound). */
async function rollup(r: {
  ago: number;
  reporter: "inbound" | "outbound";
  src: [string, string, string];
  dst: [string, string, string];
  code: number;
  n: number;
  ms: number;
  mtls?: number;
  protocol?: string;
}) {
  await seedRollups(db, {
    bucket: minute(r.ago),
    reporter: r.reporter,
    source: r.src,
    destination: r.dst,
    statusCode: r.code,
    protocol: r.protocol ?? (r.code === 0 ? "tcp" : "http1"),
    requests: r.n,
    mtlsRequests: r.mtls ?? r.n,
    latencyMs: r.ms,
  });
}

beforeAll(async () => {
  // These rows replay a fixed moment: NOW is "now", 30 s into its minute.
  trafficClock.now = () => NOW.getTime();
  const web: [string, string, string] = ["tr-shop", "web", "v1"];
  const reviews1: [string, string, string] = ["tr-shop", "reviews", "v1"];
  const reviews2: [string, string, string] = ["tr-shop", "reviews", "v2"];
  // web → reviews v1: 900 OK at ≤ 10 ms and 100 errors at ≤ 100 ms, over two minutes, seen by both sides.
  for (const reporter of ["outbound", "inbound"] as const) {
    await rollup({ ago: 0, reporter, src: web, dst: reviews1, code: 200, n: 450, ms: 10 });
    await rollup({ ago: 1, reporter, src: web, dst: reviews1, code: 200, n: 450, ms: 10 });
    await rollup({ ago: 1, reporter, src: web, dst: reviews1, code: 503, n: 100, ms: 100 });
  }
  await rollup({ ago: 0, reporter: "outbound", src: web, dst: reviews2, code: 200, n: 60, ms: 25, mtls: 30 });
  // A caller without a sidecar, seen only by the callee.
  await rollup({
    ago: 0,
    reporter: "inbound",
    src: ["tr-shop", "unknown", "unknown"],
    dst: web,
    code: 200,
    n: 30,
    ms: 5,
  });
  // Another namespace, and traffic too old for a 5-minute window.
  await rollup({
    ago: 0,
    reporter: "outbound",
    src: ["tr-pay", "api", "v1"],
    dst: ["tr-pay", "db", "v1"],
    code: 0,
    n: 7,
    ms: 1,
  });
  await rollup({ ago: 30, reporter: "outbound", src: web, dst: reviews1, code: 200, n: 5000, ms: 1 });
  // web → ratings over gRPC and HTTP/1.1. gRPC failures arrive as the HTTP status of their grpc-status:
  // UNAVAILABLE (503) and NOT_FOUND (404) both count as errors for gRPC; a 404 over HTTP/1.1 does not.
  const ratings: [string, string, string] = ["tr-shop", "ratings", "v1"];
  const grpc = { ago: 0, reporter: "outbound", src: web, dst: ratings, ms: 5, protocol: "grpc" } as const;
  await rollup({ ...grpc, code: 200, n: 40 });
  await rollup({ ...grpc, code: 503, n: 5 });
  await rollup({ ...grpc, code: 404, n: 5 });
  await rollup({ ago: 0, reporter: "outbound", src: web, dst: ratings, ms: 5, code: 200, n: 45 });
  await rollup({ ago: 0, reporter: "outbound", src: web, dst: ratings, ms: 5, code: 404, n: 5 });
});
afterAll(async () => {
  await db.telemetryRollup.deleteMany({ where: { sourceNamespace: { in: ["tr-shop", "tr-pay"] } } });
  await db.$disconnect();
});

describe("observed traffic", () => {
  it("ends a window inside a minute that is over at that minute's start, not counting it over part of it", async () => {
    // 20 minutes ago: 60 calls; 19 minutes ago: 600. A window of 1 minute until 30 s into the later minute.
    const src: [string, string, string] = ["tr-past", "web", "v1"];
    const dst: [string, string, string] = ["tr-past", "api", "v1"];
    await rollup({ ago: 20, reporter: "outbound", src, dst, code: 200, n: 60, ms: 10 });
    await rollup({ ago: 19, reporter: "outbound", src, dst, code: 200, n: 600, ms: 10 });
    const until = new Date(minute(19).getTime() + 30_000).toISOString();
    const t = await queryTraffic(db, admin, { namespace: "tr-past", minutes: 1, until });
    // Before: both minutes' 660 calls divided by 90 s, 7.3 calls/s, more than the busier minute's own rate
    // (10/s). The window is now the whole minute before until's: 60 calls in 60 s.
    expect(t.until).toBe(minute(19).toISOString());
    expect(t.edges.map((e) => [e.requests, e.rps])).toEqual([[60, 1]]);
    // The current minute still counts up to now: 30 s of it.
    const current = await queryTraffic(db, admin, { namespace: "tr-shop", minutes: 1 });
    expect(current.until).toBe(NOW.toISOString());
    await db.telemetryRollup.deleteMany({ where: { sourceNamespace: "tr-past" } });
  });

  it("counts each call once (the caller's report), with rates, errors, quantiles and mTLS share", async () => {
    const t = await queryTraffic(db, admin, { namespace: "tr-shop", minutes: 5, until: NOW.toISOString() });
    expect(t.from).toBe(minute(5).toISOString());
    const edge = (dst: string, v: string) =>
      t.edges.find((e) => e.destination.service === dst && e.destination.version === v)!;
    const v1 = edge("reviews", "v1");
    expect(v1).toMatchObject({
      requests: 1000,
      errorRate: 0.1,
      mtlsShare: 1,
      protocol: "http",
      protocols: ["http1"],
      codes: { "200": 900, "503": 100 },
    });
    // The window is 5.5 minutes of buckets (the current minute is half over).
    expect(v1.rps).toBeCloseTo(1000 / 330, 5);
    // 900 of 1000 at ≤ 10 ms: the median interpolates inside (5, 10]; p95 and p99 fall in (50, 100].
    expect(v1.p50Ms).toBeCloseTo(5 + 5 * (500 / 900), 5);
    expect(v1.p95Ms).toBeCloseTo(50 + 50 * 0.5, 5);
    expect(v1.p99Ms).toBeCloseTo(50 + 50 * 0.9, 5);
    expect(edge("reviews", "v2")).toMatchObject({ requests: 60, mtlsShare: 0.5, errorRate: 0 });
    expect(edge("web", "v1")).toMatchObject({ source: { service: "unknown" }, requests: 30 });
    expect(t.edges.some((e) => e.source.namespace === "tr-pay")).toBe(false);
  });

  it("lists the protocols an edge carried and counts any gRPC status but OK as an error", async () => {
    const t = await queryTraffic(db, admin, { namespace: "tr-shop", minutes: 5, until: NOW.toISOString() });
    const ratings = t.edges.find((e) => e.destination.service === "ratings")!;
    expect(ratings).toMatchObject({
      requests: 100,
      protocol: "http",
      protocols: ["grpc", "http1"],
      codes: { "200": 85, "404": 10, "503": 5 },
    });
    expect(ratings.errorRate).toBeCloseTo(10 / 100, 10);
    const series = await serviceSeries(db, admin, {
      namespace: "tr-shop",
      service: "ratings",
      minutes: 5,
      until: NOW.toISOString(),
    });
    const last = series.series[0]!.points.at(-1)!;
    expect([last.requests, last.errorRate]).toEqual([100, 0.1]);
  });

  it("merges versions when asked, and replays an older window", async () => {
    const merged = await queryTraffic(db, admin, {
      namespace: "tr-shop",
      minutes: 5,
      until: NOW.toISOString(),
      versions: "merged",
    });
    const reviews = merged.edges.find((e) => e.destination.service === "reviews")!;
    expect(reviews).toMatchObject({
      requests: 1060,
      source: { version: "*" },
      destination: { version: "*" },
    });

    const past = await queryTraffic(db, admin, {
      namespace: "tr-shop",
      minutes: 1,
      until: new Date(minute(30).getTime() + 60_000).toISOString(),
    });
    expect(past.edges.map((e) => [e.destination.service, e.requests, e.p99Ms])).toEqual([
      ["reviews", 5000, 0.99],
    ]);
  });

  it("shows TCP edges without latency, and only namespaces the caller may read", async () => {
    const all = await queryTraffic(db, admin, { minutes: 5, until: NOW.toISOString() });
    expect(all.edges.find((e) => e.source.namespace === "tr-pay")).toMatchObject({
      protocol: "tcp",
      protocols: ["tcp"],
      requests: 7,
      p50Ms: null,
      errorRate: 0,
    });

    const mine = await queryTraffic(db, shopViewer, { minutes: 5, until: NOW.toISOString() });
    expect(new Set(mine.edges.map((e) => e.source.namespace))).toEqual(new Set(["tr-shop"]));
    await expect(queryTraffic(db, shopViewer, { namespace: "tr-pay" })).rejects.toThrow(AppError);
  });

  it("draws an edge between namespaces from the report of the namespace looked at, never another's word", async () => {
    // Issue 15 finding 2: tr-evil's proxies report 50,000 failed calls into tr-shop that never reached it
    // (no inbound report), and a call from tr-shop/web into tr-evil that web never made (no outbound report).
    const evil = await Promise.all([
      rollup({
        ago: 0,
        reporter: "outbound",
        src: ["tr-evil", "spy", "v1"],
        dst: ["tr-shop", "reviews", "v1"],
        code: 503,
        n: 50_000,
        ms: 1,
      }),
      rollup({
        ago: 0,
        reporter: "inbound",
        src: ["tr-shop", "web", "v1"],
        dst: ["tr-evil", "sink", "v1"],
        code: 200,
        n: 77,
        ms: 1,
      }),
      // tr-partner/client → tr-shop/reviews, seen by both sides (the caller counts a few more: its retries).
      rollup({
        ago: 0,
        reporter: "outbound",
        src: ["tr-partner", "client", "v1"],
        dst: ["tr-shop", "reviews", "v1"],
        code: 200,
        n: 12,
        ms: 1,
      }),
      rollup({
        ago: 0,
        reporter: "inbound",
        src: ["tr-partner", "client", "v1"],
        dst: ["tr-shop", "reviews", "v1"],
        code: 200,
        n: 10,
        ms: 1,
      }),
    ]);
    try {
      const at = { minutes: 5, until: NOW.toISOString() };
      const edges = (t: {
        edges: {
          source: { namespace: string; service: string };
          destination: { namespace: string; service: string };
          requests: number;
        }[];
      }) =>
        t.edges
          .filter((e) => e.source.namespace !== e.destination.namespace)
          .map(
            (e) =>
              `${e.source.namespace}/${e.source.service}>${e.destination.namespace}/${e.destination.service}:${e.requests}`,
          )
          .sort();
      // tr-shop's graph: what tr-shop's sidecars saw arrive.
      expect(edges(await queryTraffic(db, admin, { namespace: "tr-shop", ...at }))).toEqual([
        "tr-partner/client>tr-shop/reviews:10",
      ]);
      expect(edges(await queryEdgeTotals(db, admin, { namespace: "tr-shop", ...at }))).toEqual([
        "tr-partner/client>tr-shop/reviews:10",
      ]);
      // tr-evil's own graph may show what tr-evil says it did.
      expect(edges(await queryTraffic(db, admin, { namespace: "tr-evil", ...at }))).toEqual([
        "tr-evil/spy>tr-shop/reviews:50000",
        "tr-shop/web>tr-evil/sink:77",
      ]);
      // Several namespaces at once: the callee's report.
      expect(
        edges(await queryEdgeTotals(db, admin, at)).filter(
          (e) => e.includes("tr-partner") || e.includes("tr-evil"),
        ),
      ).toEqual(["tr-partner/client>tr-shop/reviews:10", "tr-shop/web>tr-evil/sink:77"]);
      const series = await serviceSeries(db, admin, {
        namespace: "tr-shop",
        service: "reviews",
        by: "caller",
        ...at,
      });
      expect(JSON.stringify(series)).not.toContain("tr-evil");
    } finally {
      expect(evil).toHaveLength(4);
      await db.telemetryRollup.deleteMany({ where: { sourceNamespace: { in: ["tr-evil", "tr-partner"] } } });
      await db.telemetryRollup.deleteMany({ where: { destNamespace: "tr-evil" } });
    }
  });

  it("interpolates quantiles like histogram_quantile and caps the overflow slot at the last bound", () => {
    const h = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
    expect(quantile(h, 0.5)).toBeNull();
    h[0] = 10;
    expect(quantile(h, 0.5)).toBeCloseTo(0.5);
    h[h.length - 1] = 990;
    expect(quantile(h, 0.99)).toBe(10_000);
  });
});

describe("service time series", () => {
  it("gives one point per minute for each version, calls counted once, gaps as zero", async () => {
    const s = await serviceSeries(db, admin, {
      namespace: "tr-shop",
      service: "reviews",
      minutes: 5,
      until: NOW.toISOString(),
    });
    expect(s.stepSeconds).toBe(60);
    expect(s.from).toBe(minute(5).toISOString());
    expect(s.series.map((x) => x.key)).toEqual(["v1", "v2"]);
    const v1 = s.series[0]!.points;
    expect(v1.map((p) => p.t)).toEqual([5, 4, 3, 2, 1, 0].map((ago) => minute(ago).toISOString()));
    expect(v1.map((p) => p.requests)).toEqual([0, 0, 0, 0, 550, 450]);
    expect(v1[4]).toMatchObject({ errorRate: 100 / 550 });
    expect(v1[4]!.rps).toBeCloseTo(550 / 60, 5);
    // The current minute is half over: its rate is over the 30 s that have passed.
    expect(v1[5]!.rps).toBeCloseTo(450 / 30, 5);
    expect(v1[5]!.p99Ms).toBeCloseTo(5 + 5 * 0.99, 5);
    expect(v1[0]).toMatchObject({ requests: 0, rps: 0, errorRate: 0, p50Ms: null });
    expect(s.series[1]!.points.map((p) => p.requests)).toEqual([0, 0, 0, 0, 0, 60]);
  });

  it("splits by caller, coarsens long windows, and checks the reader's namespace", async () => {
    const byCaller = await serviceSeries(db, admin, {
      namespace: "tr-shop",
      service: "web",
      minutes: 5,
      until: NOW.toISOString(),
      by: "caller",
    });
    expect(byCaller.series.map((x) => [x.key, x.points.reduce((n, p) => n + p.requests, 0)])).toEqual([
      ["tr-shop/unknown", 30],
    ]);

    const day = await serviceSeries(db, shopViewer, {
      namespace: "tr-shop",
      service: "reviews",
      minutes: 1440,
      until: NOW.toISOString(),
    });
    expect(day.stepSeconds).toBe(12 * 60);
    expect(day.series[0]!.points.length).toBeLessThanOrEqual(121);
    // 5000 half an hour ago plus the 1000 of the last two minutes.
    expect(day.series[0]!.points.reduce((n, p) => n + p.requests, 0)).toBe(6000);

    await expect(
      serviceSeries(db, shopViewer, { namespace: "tr-pay", service: "db", minutes: 5 }),
    ).rejects.toThrow(AppError);
  });

  it("gives one series for all calls, or for one caller's (an edge), with quantiles of the whole", async () => {
    const total = await serviceSeries(db, admin, {
      namespace: "tr-shop",
      service: "reviews",
      minutes: 5,
      until: NOW.toISOString(),
      by: "total",
    });
    expect(total.series.map((x) => x.key)).toEqual(["*"]);
    // v1 and v2 together: 450 + 60 in the current minute; the latencies are those of both versions' calls.
    expect(total.series[0]!.points.map((p) => p.requests)).toEqual([0, 0, 0, 0, 550, 510]);
    expect(total.series[0]!.points[5]!.p99Ms).toBeGreaterThan(10);

    const edge = await serviceSeries(db, admin, {
      namespace: "tr-shop",
      service: "web",
      minutes: 5,
      until: NOW.toISOString(),
      by: "total",
      caller: "tr-shop/unknown",
    });
    expect(edge.series[0]!.points.reduce((n, p) => n + p.requests, 0)).toBe(30);
    const none = await serviceSeries(db, admin, {
      namespace: "tr-shop",
      service: "reviews",
      minutes: 5,
      until: NOW.toISOString(),
      caller: "tr-shop/web",
      callerVersion: "v9",
    });
    expect(none.series).toEqual([]);
  });
});

describe("sparklines", () => {
  it("gives every service asked for one row of points in one query, idle ones as zeros", async () => {
    const s = await serviceSparklines(db, shopViewer, {
      services: ["tr-shop/reviews", "tr-shop/web", "tr-shop/idle", "tr-shop/reviews"],
      minutes: 5,
      until: NOW.toISOString(),
    });
    expect(s.stepSeconds).toBe(60);
    expect(s.items.map((i) => `${i.namespace}/${i.service}`)).toEqual([
      "tr-shop/reviews",
      "tr-shop/web",
      "tr-shop/idle",
    ]);
    const [reviews, web, idle] = s.items;
    // Versions together, each call once (the caller's report): 550 a minute ago, 510 in the current one.
    expect(reviews!.points.map((p) => p.requests)).toEqual([0, 0, 0, 0, 550, 510]);
    expect(reviews!.points[4]!.errorRate).toBeCloseTo(100 / 550, 5);
    expect(reviews!.points[5]!.rps).toBeCloseTo(510 / 30, 5);
    expect(web!.points.map((p) => p.requests)).toEqual([0, 0, 0, 0, 0, 30]);
    expect(idle!.points.every((p) => p.requests === 0 && p.rps === 0)).toBe(true);
  });

  it("counts errors as the graph does: every gRPC status but OK, and 5xx over HTTP", async () => {
    const s = await serviceSparklines(db, shopViewer, {
      services: ["tr-shop/ratings"],
      minutes: 5,
      until: NOW.toISOString(),
    });
    const last = s.items[0]!.points.at(-1)!;
    // 100 calls: gRPC 503 ×5 and 404 ×5 are errors; HTTP/1.1's 404 ×5 is not.
    expect(last.requests).toBe(100);
    expect(last.errorRate).toBeCloseTo(0.1, 5);
  });

  it("replays a past window, coarsens long ones, and refuses a namespace the caller may not read", async () => {
    const past = await serviceSparklines(db, admin, {
      services: ["tr-shop/reviews"],
      minutes: 5,
      until: new Date(minute(30).getTime() + 60_000).toISOString(),
    });
    expect(past.items[0]!.points.map((p) => p.requests)).toEqual([0, 0, 0, 0, 5000]);

    const day = await serviceSparklines(db, admin, {
      services: ["tr-shop/reviews"],
      minutes: 1440,
      until: NOW.toISOString(),
    });
    expect(day.stepSeconds).toBe(24 * 60);
    expect(day.items[0]!.points.length).toBeLessThanOrEqual(61);
    expect(day.items[0]!.points.reduce((n, p) => n + p.requests, 0)).toBe(6060);

    await expect(
      serviceSparklines(db, shopViewer, { services: ["tr-shop/reviews", "tr-pay/db"], minutes: 5 }),
    ).rejects.toThrow(AppError);
  });
});
