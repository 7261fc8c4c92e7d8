// The aggregator's upserts, as replicas run them: the 10-minute edge rollup (kept by triggers) must follow every
// ON CONFLICT addition, and two replicas flushing the same edges at once must not deadlock.
import { afterAll, describe, expect, inject, it } from "vitest";
import { LATENCY_BUCKETS_MS, type TelemetrySeries } from "@trellis/contracts";
import { createDb } from "@trellis/db";
import { pruneRollups, TelemetryAggregator } from "./telemetry.js";

const db = createDb(inject("databaseUrl"));
const NS = "tel-t";
const MINUTE = 60_000;
// 10:03 to 10:16: two 10-minute buckets.
const T0 = Date.UTC(2025, 0, 2, 10, 3);

function series(dst: string, code: number, requests: number): TelemetrySeries {
  const buckets = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  buckets[3] = requests;
  return {
    reporter: "outbound",
    source: { namespace: NS, service: "web", version: "v1" },
    destination: { namespace: NS, service: dst, version: "v1" },
    code,
    requests,
    mtlsRequests: requests,
    durationSumMs: requests * 2,
    buckets,
    bytesSent: 0,
    bytesReceived: 0,
  };
}

afterAll(async () => {
  await db.telemetryRollup.deleteMany({ where: { sourceNamespace: NS } });
  await db.$disconnect();
});

describe("telemetry rollups", () => {
  it("keeps the 10-minute edge rollup equal to the per-minute rows through upserts, concurrent flushes and pruning", async () => {
    const replicas = [new TelemetryAggregator(), new TelemetryAggregator()];
    for (let round = 0; round < 3; round++) {
      for (const [i, agg] of replicas.entries())
        for (let m = 0; m < 14; m++)
          // Each replica in its own order, so only the flush's sort keeps their locks in step.
          for (const dst of i === 0 ? ["a", "b", "c"] : ["c", "b", "a"])
            agg.add([series(dst, 200, 10 + m), series(dst, 503, 1)], T0 + m * MINUTE);
      await Promise.all(replicas.map((r) => r.flush(db)));
    }

    const edges = await db.telemetryEdgeRollup.findMany({
      where: { sourceNamespace: NS },
      orderBy: [{ bucket: "asc" }, { destService: "asc" }],
    });
    // 10:03–10:09 (7 minutes) and 10:10–10:16 (7 minutes), for each of three callees.
    expect(edges.map((e) => [e.bucket.toISOString().slice(11, 16), e.destService])).toEqual([
      ["10:00", "a"],
      ["10:00", "b"],
      ["10:00", "c"],
      ["10:10", "a"],
      ["10:10", "b"],
      ["10:10", "c"],
    ]);
    // Minutes 0..6: 2 replicas × 3 rounds × (Σ(10+m) + 7 errors), in 14 rows (7 minutes × 2 codes).
    const first = edges[0]!;
    const ok = 2 * 3 * [0, 1, 2, 3, 4, 5, 6].reduce((a, m) => a + 10 + m, 0);
    const errors = 2 * 3 * 7;
    expect(first).toMatchObject({
      sourceRows: 14,
      httpRows: 14,
      requests: BigInt(ok + errors),
      errors: BigInt(errors),
      mtlsRequests: BigInt(ok + errors),
      durationSumMs: (ok + errors) * 2,
    });
    expect(first.latencyBuckets[3]).toBe(BigInt(ok + errors));
    expect(first.latencyBuckets.reduce((a, b) => a + b, 0n)).toBe(BigInt(ok + errors));

    // Retention that cuts the later bucket in two leaves it with what the per-minute rows still hold.
    const cut = T0 + 10 * MINUTE; // 10:13
    await db.telemetryRollup.deleteMany({ where: { sourceNamespace: NS, bucket: { lt: new Date(cut) } } });
    const left = await db.telemetryEdgeRollup.findMany({ where: { sourceNamespace: NS, destService: "a" } });
    expect(left).toHaveLength(1);
    const rows = await db.telemetryRollup.aggregate({
      where: { sourceNamespace: NS, destService: "a" },
      _sum: { requests: true },
      _count: true,
    });
    expect(left[0]).toMatchObject({ sourceRows: rows._count, requests: rows._sum.requests });
    expect(await pruneRollups(db, Date.now() - (T0 + 20 * MINUTE))).toBeGreaterThan(0);
    expect(await db.telemetryEdgeRollup.count({ where: { sourceNamespace: NS } })).toBe(0);
  });

  it("adds access observations into the minute's row, and prunes them with the rollups", async () => {
    const agg = new TelemetryAggregator();
    const o = (method: "GET" | "POST", requests: number) => ({
      source: { namespace: NS, service: "web" },
      destination: { namespace: NS, service: "acc" },
      method,
      path: "/api/*",
      requests,
    });
    agg.addAccess([o("GET", 2), o("POST", 1)], T0);
    agg.addAccess([o("GET", 3)], T0 + 30_000);
    agg.addAccess([o("GET", 4)], T0 + MINUTE);
    await agg.flush(db);
    agg.addAccess([o("GET", 5)], T0);
    await agg.flush(db); // another replica's (or a later) flush into the same row adds to it
    const rows = await db.telemetryAccessRollup.findMany({
      where: { destNamespace: NS, destService: "acc" },
      orderBy: [{ bucket: "asc" }, { method: "asc" }],
    });
    expect(rows.map((r) => `${r.bucket.getTime() - T0} ${r.method} ${r.path} ${r.requests}`)).toEqual([
      "0 GET /api/* 10",
      "0 POST /api/* 1",
      `${MINUTE} GET /api/* 4`,
    ]);
    // A cutoff half-way through the first minute: prune reads the clock again, a few ms later, so a cutoff of
    // exactly the second minute would fall after it and take that row too.
    await pruneRollups(db, Date.now() - (T0 + MINUTE / 2));
    expect(await db.telemetryAccessRollup.count({ where: { destNamespace: NS, destService: "acc" } })).toBe(
      1,
    );
  });

  it("lets two replicas flush across a 10-minute boundary of one hour without a deadlock", async () => {
    // The replica behind still holds the last minute of a 10-minute bucket; the other has only the next one.
    // Each per-minute row's trigger locks its 10-minute row and its hour row, so the first flush holds hour rows
    // while it goes on to rows the second flush holds, and the second waits for those hour rows: unless every
    // row of an edge is written under one lock per edge taken up front.
    const boundary = Date.UTC(2025, 0, 2, 11, 10);
    const callees = Array.from({ length: 40 }, (_, i) => `hb${String(i).padStart(2, "0")}`);
    for (let round = 0; round < 3; round++) {
      const [behind, ahead] = [new TelemetryAggregator(), new TelemetryAggregator()];
      for (const dst of callees) {
        behind.add([series(dst, 200, 1)], boundary - MINUTE + 30_000);
        behind.add([series(dst, 200, 1)], boundary + 1_000);
        ahead.add([series(dst, 200, 1)], boundary + 2_000);
      }
      await Promise.all([behind.flush(db), ahead.flush(db)]);
    }
    const hours = await db.telemetryEdgeRollupHour.findMany({
      where: { sourceNamespace: NS, destService: { in: callees } },
    });
    // 3 rounds × 3 requests per callee, all in the hour 11:00, in one row each.
    expect(hours.map((h) => [h.bucket.toISOString(), h.requests])).toEqual(
      callees.map(() => ["2025-01-02T11:00:00.000Z", 9n]),
    );
  });
});
