// What counts as an error is defined once, by contracts' isErrorOutcome. PostgreSQL decides it in two more
// places that cannot import TypeScript: ERROR_OUTCOME_SQL (traffic.ts, the per-minute queries) and the edge
// rollup's trigger function (prisma/migrations, "telemetry_edge_rollup_apply"). These tests hold both to the
// function for every protocol and every status code a proxy can report, in a real PostgreSQL.
import { afterAll, describe, expect, inject, it } from "vitest";
import { isErrorOutcome, LATENCY_BUCKETS_MS, TRAFFIC_PROTOCOLS } from "@trellis/contracts";
import { createDb } from "@trellis/db";
import { ERROR_OUTCOME_SQL } from "./traffic.js";

const db = createDb(inject("databaseUrl"));
// A bucket no other test file writes to, and a namespace of its own.
const BUCKET = new Date("2024-01-01T00:00:00.000Z");
const NS = "error-outcome";
const CODES = Array.from({ length: 600 }, (_, i) => i);
// Every protocol a proxy reports, and one it does not (old rows, or a future protocol), which must follow HTTP.
const PROTOCOLS = [...TRAFFIC_PROTOCOLS, "future"];

function expected(): string[] {
  return PROTOCOLS.flatMap((p) => CODES.filter((c) => isErrorOutcome(p, c)).map((c) => `${p} ${c}`));
}

afterAll(async () => {
  await db.$executeRaw`DELETE FROM "TelemetryRollup" WHERE "destNamespace" = ${NS}`;
  await db.$disconnect();
});

describe("error outcomes", () => {
  it("ERROR_OUTCOME_SQL agrees with isErrorOutcome on every code 0..599", async () => {
    const rows = await db.$queryRaw<{ protocol: string; statusCode: number }[]>`
      SELECT "protocol", "statusCode"
      FROM unnest(${PROTOCOLS}::text[]) AS p("protocol"), generate_series(0, 599) AS c("statusCode")
      WHERE ${ERROR_OUTCOME_SQL}
      ORDER BY array_position(${PROTOCOLS}::text[], "protocol"), "statusCode"`;
    expect(rows.map((r) => `${r.protocol} ${r.statusCode}`)).toEqual(expected());
  });

  it("the edge rollup's trigger counts exactly those requests as errors", async () => {
    // One per-minute row per (protocol, code), each on an edge of its own (the code is the callee's version),
    // with a request count that tells the rows apart should the trigger add them up wrongly.
    const zeros = new Array<bigint>(LATENCY_BUCKETS_MS.length + 1).fill(0n);
    await db.$executeRaw`
      INSERT INTO "TelemetryRollup" ("bucket", "sourceNamespace", "sourceService", "sourceVersion",
        "destNamespace", "destService", "destVersion", "statusCode", "protocol", "reporter", "requests",
        "durationSumMs", "latencyBuckets")
      SELECT ${BUCKET}, ${NS}, 'caller', 'v1', ${NS}, 'callee', c::text, c, p, 'inbound', 7, 0, ${zeros}::bigint[]
      FROM unnest(${PROTOCOLS}::text[]) AS p, generate_series(0, 599) AS c`;
    const edges = await db.$queryRaw<
      { protocol: string; version: string; errors: bigint; requests: bigint }[]
    >`
      SELECT "protocol", "destVersion" AS version, "errors", "requests" FROM "TelemetryEdgeRollup"
      WHERE "destNamespace" = ${NS}`;
    expect(edges).toHaveLength(PROTOCOLS.length * CODES.length);
    for (const e of edges) expect(e.requests).toBe(7n);
    const errors = edges
      .filter((e) => e.errors !== 0n)
      .map((e) => {
        expect(e.errors).toBe(7n);
        return { protocol: e.protocol, code: Number(e.version) };
      })
      .sort((a, b) => PROTOCOLS.indexOf(a.protocol) - PROTOCOLS.indexOf(b.protocol) || a.code - b.code)
      .map((e) => `${e.protocol} ${e.code}`);
    expect(errors).toEqual(expected());
  });
});
