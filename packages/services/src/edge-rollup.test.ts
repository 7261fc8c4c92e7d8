// The graph reads whole 10-minute buckets from TelemetryEdgeRollup (kept in step by triggers on
// TelemetryRollup) and only a window's ragged ends from per-minute rows. These tests write telemetry the way
// the control plane does (upserts that add into existing rows), prune some of it, and check that every window
// gets exactly the answer the plain per-minute computation gives.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LATENCY_BUCKETS_MS, type Graph } from "@trellis/contracts";
import { createDb, Prisma } from "@trellis/db";
import { queryEdgeTotals, queryTraffic, serviceGraph, type Actor } from "./index.js";

const db = createDb(inject("databaseUrl"));
// Far from the other test files' data (theirs is around now and 2026-11-22), so windows see only ours.
const NOW = new Date("2025-03-04T05:06:27.345Z");
const MINUTE = 60_000;
const NAMESPACES = ["er-a", "er-b"] as const;
const admin: Actor = {
  kind: "user",
  userId: "u-admin",
  name: "admin",
  via: "api",
  bindings: [{ role: "admin", namespace: "*" }],
};
const viewerA: Actor = {
  kind: "user",
  userId: "u-v",
  name: "vic",
  via: "api",
  bindings: [{ role: "viewer", namespace: "er-a" }],
};

/** A small seeded generator (mulberry32), so a failure replays. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Row {
  bucket: Date;
  reporter: string;
  src: [string, string, string];
  dst: [string, string, string];
  code: number;
  protocol: string;
  requests: number;
  mtls: number;
  latency: number[];
}

/** The control plane's write: an upsert that adds into the row when it exists (packages/control-plane/src/telemetry.ts). */
async function upsert(rows: Row[]) {
  for (let i = 0; i < rows.length; i += 500) {
    const values = rows.slice(i, i + 500).map(
      (r) =>
        Prisma.sql`(${r.bucket}, ${r.reporter}, ${r.src[0]}, ${r.src[1]}, ${r.src[2]}, ${r.dst[0]}, ${r.dst[1]},
            ${r.dst[2]}, ${r.code}, ${r.protocol}, ${BigInt(r.requests)}, ${BigInt(r.mtls)}, ${r.requests * 3.5},
            ${r.latency.map(BigInt)}::bigint[], 0, 0)`,
    );
    await db.$executeRaw`
      INSERT INTO "TelemetryRollup" ("bucket","reporter","sourceNamespace","sourceService","sourceVersion",
        "destNamespace","destService","destVersion","statusCode","protocol","requests","mtlsRequests",
        "durationSumMs","latencyBuckets","bytesSent","bytesReceived")
      VALUES ${Prisma.join(values)}
      ON CONFLICT ("bucket","reporter","sourceNamespace","sourceService","sourceVersion",
        "destNamespace","destService","destVersion","statusCode","protocol") DO UPDATE SET
        "requests" = "TelemetryRollup"."requests" + EXCLUDED."requests",
        "mtlsRequests" = "TelemetryRollup"."mtlsRequests" + EXCLUDED."mtlsRequests",
        "durationSumMs" = "TelemetryRollup"."durationSumMs" + EXCLUDED."durationSumMs",
        "latencyBuckets" = ARRAY(SELECT a + b FROM unnest("TelemetryRollup"."latencyBuckets", EXCLUDED."latencyBuckets") AS t(a, b))`;
  }
}

/**
 * Telemetry over the 26 hours before NOW: HTTP and TCP edges, 5xx, callers without a sidecar, two namespaces,
 * and edges that also carry gRPC (whose 404s are errors, unlike HTTP's).
 */
function generate(random: () => number): Row[] {
  const services = NAMESPACES.flatMap((ns) => Array.from({ length: 8 }, (_, i) => [ns, `svc${i}`] as const));
  const edges: {
    src: [string, string, string];
    dst: [string, string, string];
    tcp: boolean;
    grpc: boolean;
  }[] = [];
  for (let i = 0; i < 30; i++) {
    const a = services[Math.floor(random() * services.length)]!;
    const b = services[Math.floor(random() * services.length)]!;
    const unknown = i % 10 === 9;
    edges.push({
      src: unknown ? [a[0], "unknown", "unknown"] : [a[0], a[1], `v${1 + (i % 2)}`],
      dst: [b[0], b[1], `v${1 + Math.floor(random() * 2)}`],
      tcp: i % 7 === 3,
      grpc: i % 5 === 1,
    });
  }
  const rows: Row[] = [];
  const current = Math.floor(NOW.getTime() / MINUTE) * MINUTE;
  for (let ago = 0; ago < 26 * 60; ago++) {
    // Dense for the last 3 hours, sparse before, so the 24-hour window has something to sum too.
    const p = ago < 180 ? 0.6 : 0.03;
    for (const e of edges) {
      if (random() > p) continue;
      // TCP: connections let through (0) and refused by AccessPolicies (403).
      const codes = e.tcp
        ? random() < 0.4
          ? [0, 403]
          : [0]
        : random() < 0.3
          ? [200, 503]
          : random() < 0.1
            ? [200, 404, 0]
            : [200];
      const protocols = e.tcp ? ["tcp"] : e.grpc ? ["http1", "grpc"] : ["http1"];
      for (const protocol of protocols)
        for (const code of codes)
          for (const reporter of ["outbound", "inbound"]) {
            if (e.src[1] === "unknown" && reporter === "outbound") continue;
            const requests = 1 + Math.floor(random() * 50);
            rows.push({
              bucket: new Date(current - ago * MINUTE),
              reporter,
              src: e.src,
              dst: e.dst,
              code,
              protocol,
              requests,
              mtls: Math.floor(requests * random()),
              latency: Array.from({ length: LATENCY_BUCKETS_MS.length + 1 }, () => Math.floor(random() * 9)),
            });
          }
    }
  }
  return rows;
}

const byEnds = <T extends { source: unknown; destination?: unknown; target?: unknown }>(a: T, b: T) =>
  JSON.stringify([a.source, a.destination ?? a.target]).localeCompare(
    JSON.stringify([b.source, b.destination ?? b.target]),
  );
const sortedGraph = (g: Graph) => ({ ...g, edges: [...g.edges].sort(byEnds) });

beforeAll(async () => {
  const random = rng(42);
  const rows = generate(random);
  // Written in two passes, the second adding into rows the first created: the ON CONFLICT path.
  await upsert(rows);
  await upsert(rows.filter(() => random() < 0.4).map((r) => ({ ...r, requests: 7, mtls: 7 })));
  // Retention cuts a 10-minute bucket in two, and one minute of one edge goes entirely.
  await db.telemetryRollup.deleteMany({
    where: { bucket: { lt: new Date(NOW.getTime() - 25 * 60 * MINUTE - 3 * MINUTE) } },
  });
  const victim = rows[rows.length >> 1]!;
  await db.telemetryRollup.deleteMany({
    where: {
      bucket: victim.bucket,
      sourceNamespace: victim.src[0],
      sourceService: victim.src[1],
      destService: victim.dst[1],
    },
  });
  for (const ns of NAMESPACES)
    for (let i = 0; i < 8; i++) await db.service.create({ data: { namespace: ns, name: `svc${i}` } });
}, 120_000);
afterAll(async () => {
  await db.telemetryRollup.deleteMany({ where: { sourceNamespace: { in: [...NAMESPACES] } } });
  await db.service.deleteMany({ where: { namespace: { in: [...NAMESPACES] } } });
  await db.$disconnect();
});

const ago = (minutes: number, seconds = 0) => new Date(NOW.getTime() - minutes * MINUTE - seconds * 1000);

// [window, end]: ragged on both ends, aligned on 10 minutes, shorter than a bucket, replays of the past.
const WINDOWS: [string, Date][] = [
  ["1h", NOW],
  ["5m", NOW],
  ["15m", NOW],
  ["3h", NOW],
  ["24h", NOW],
  ["30m", new Date(Math.floor(NOW.getTime() / (10 * MINUTE)) * 10 * MINUTE)],
  ["1h", ago(37, 13)],
  ["2h", ago(61)],
  ["9m", ago(95, 59)],
  ["20m", ago(24 * 60 + 50)],
  // Across hours, ragged at both ends, and the part of a day that retention cut in two.
  ["90m", ago(3 * 60 + 17, 41)],
  ["24h", ago(71)],
  ["6h", ago(21 * 60 + 4)],
];

describe("graph over the hour and 10-minute edge rollups", () => {
  it("has 10-minute buckets to read", async () => {
    const n = await db.telemetryEdgeRollup.count({ where: { sourceNamespace: { in: [...NAMESPACES] } } });
    expect(n).toBeGreaterThan(100);
  });

  it("keeps every hour row equal to its per-minute rows, through upserts, pruning and deletes", async () => {
    // Per hour, edge and protocol: rows, HTTP rows, requests, errors, mTLS, duration and the histogram, summed
    // from the per-minute rows and read from the hour rows; the two lists must be the same, row for row.
    const sums = (from: Prisma.Sql) => db.$queryRaw<Record<string, unknown>[]>`
      SELECT h, "reporter", "sourceNamespace", "sourceService", "sourceVersion", "destNamespace", "destService",
             "destVersion", "protocol", SUM(n)::int AS n, SUM(http)::int AS http, SUM(requests)::text AS requests,
             SUM(errors)::text AS errors, SUM(mtls)::text AS mtls, SUM(duration) AS duration,
             array_to_string(ARRAY[${Prisma.raw(
               Array.from({ length: LATENCY_BUCKETS_MS.length + 1 }, (_, i) => `SUM(l[${i + 1}])`).join(", "),
             )}], ',') AS histogram
      FROM (${from}) t
      WHERE "sourceNamespace" IN (${Prisma.join([...NAMESPACES])})
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9`;
    const perMinute = await sums(Prisma.sql`
      SELECT date_trunc('hour', "bucket") AS h, "reporter", "sourceNamespace", "sourceService", "sourceVersion",
             "destNamespace", "destService", "destVersion", "protocol", 1 AS n,
             ("statusCode" <> 0 AND "protocol" <> 'tcp')::int AS http, "requests",
             CASE WHEN "statusCode" >= 500 OR ("protocol" = 'grpc' AND "statusCode" >= 400) THEN "requests" ELSE 0 END AS errors,
             "mtlsRequests" AS mtls, "durationSumMs" AS duration,
             CASE WHEN "statusCode" <> 0 AND "protocol" <> 'tcp' THEN "latencyBuckets" ELSE '{0,0,0,0,0,0,0,0,0,0,0,0,0,0}' END AS l
      FROM "TelemetryRollup"`);
    const hours = await sums(Prisma.sql`
      SELECT "bucket" AS h, "reporter", "sourceNamespace", "sourceService", "sourceVersion", "destNamespace",
             "destService", "destVersion", "protocol", "sourceRows" AS n, "httpRows" AS http, "requests", "errors",
             "mtlsRequests" AS mtls, "durationSumMs" AS duration,
             CASE WHEN "httpRows" > 0 THEN "latencyBuckets" ELSE '{0,0,0,0,0,0,0,0,0,0,0,0,0,0}' END AS l
      FROM "TelemetryEdgeRollupHour"`);
    expect(perMinute.length).toBeGreaterThan(26 * 20);
    expect(hours).toEqual(perMinute);
  });

  for (const [window, end] of WINDOWS)
    for (const groupBy of ["service", "version"] as const)
      it(`answers ${window} ending ${end.toISOString()} by ${groupBy} as the per-minute rows do`, async () => {
        for (const namespace of NAMESPACES) {
          const query = { namespace, window, groupBy, end: end.toISOString() };
          const fast = await serviceGraph(db, admin, query);
          const plain = await serviceGraph(db, admin, query, { edgeRollups: false });
          expect(fast.edges.length).toBeGreaterThan(0);
          expect(sortedGraph(fast)).toEqual(sortedGraph(plain));
        }
      });

  it("gives the per-minute answer for every readable namespace, as queryTraffic computes it", async () => {
    for (const [window, end] of WINDOWS) {
      const minutes = Number(window.slice(0, -1)) * (window.endsWith("h") ? 60 : 1);
      for (const actor of [admin, viewerA]) {
        const query = { minutes, until: end.toISOString(), versions: "split" } as const;
        const fast = await queryEdgeTotals(db, actor, query);
        const plain = await queryEdgeTotals(db, actor, query, { edgeRollups: false });
        const reference = await queryTraffic(db, actor, query);
        expect(fast.edges.length).toBeGreaterThan(0);
        expect([...fast.edges].sort(byEnds)).toEqual([...plain.edges].sort(byEnds));
        expect([...fast.edges].sort(byEnds)).toEqual(
          reference.edges.map(({ codes: _codes, ...e }) => e).sort(byEnds),
        );
        expect(fast.from).toBe(reference.from);
        if (actor === admin) expect(fast.edges.some((e) => e.protocols.includes("grpc"))).toBe(true);
        // A TCP edge stays one with refusals (403) in it, and its refused connections count as no latency.
        for (const e of fast.edges.filter((x) => x.protocols.join() === "tcp"))
          expect([e.protocol, e.p50Ms]).toEqual(["tcp", null]);
      }
    }
  });
});
