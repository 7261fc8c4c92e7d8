// The graph's query before decision 020 (as of commit 7cffff4), kept verbatim for the benchmark so that every
// run prints it beside the current one on the same data and the same machine load: whole 10-minute buckets
// from TelemetryEdgeRollup, the window's ragged ends from per-minute rows, grouped per edge with the protocols
// as array_agg(DISTINCT …) — which makes PostgreSQL sort every row it reads. Admin's view, versions merged,
// all namespaces: what `GET /api/v1/graph?window=1h` asked. Not product code: nothing else imports it.
import { Prisma, type Db } from "@trellis/db";

const MINUTE = 60_000;
const EDGE_BUCKET = 10 * MINUTE;
const SLOT_SUMS = Prisma.raw(
  Array.from({ length: 14 }, (_, i) => `COALESCE(SUM(l[${i + 1}]::float8), 0)`).join(", "),
);
const ERROR_OUTCOME_SQL = Prisma.sql`("statusCode" >= 500 OR ("protocol" = 'grpc' AND "statusCode" >= 400))`;
const HTTP_ROW_SQL = Prisma.sql`("statusCode" <> 0 AND "protocol" <> 'tcp')`;
const REPORTER_FILTER = Prisma.sql`(("reporter" = 'outbound' AND ("sourceNamespace" = "destNamespace" OR "destService" = 'unknown'))
  OR ("reporter" = 'inbound' AND ("sourceNamespace" <> "destNamespace" OR "sourceService" = 'unknown')))`;

/** The edge query and the registered services, at once, as serviceGraph ran them; rows as PostgreSQL sent them. */
export async function graphBefore(db: Db, minutes: number) {
  const until = new Date();
  const from = new Date(Math.floor((until.getTime() - minutes * MINUTE) / MINUTE) * MINUTE);
  const keys = Prisma.sql`"sourceNamespace" AS sn, "sourceService" AS ss, '*' AS sv,
    "destNamespace" AS dn, "destService" AS ds, '*' AS dv`;
  const coarseFrom = new Date(Math.ceil(from.getTime() / EDGE_BUCKET) * EDGE_BUCKET);
  const coarseUntil = new Date(Math.floor(until.getTime() / EDGE_BUCKET) * EDGE_BUCKET);
  const coarse = coarseFrom < coarseUntil;
  const ragged = coarse
    ? Prisma.sql`(("bucket" >= ${from} AND "bucket" < ${coarseFrom}) OR ("bucket" >= ${coarseUntil} AND "bucket" < ${until}))`
    : Prisma.sql`"bucket" >= ${from} AND "bucket" < ${until}`;
  const tenMinutes = coarse
    ? Prisma.sql`UNION ALL
      SELECT ${keys}, "protocol", "requests"::float8, "errors"::float8, "mtlsRequests"::float8,
             "httpRows"::float8, "latencyBuckets"
      FROM "TelemetryEdgeRollup"
      WHERE "bucket" >= ${coarseFrom} AND "bucket" < ${coarseUntil} AND ${REPORTER_FILTER}`
    : Prisma.empty;
  return Promise.all([
    db.$queryRaw<unknown[]>`
    SELECT sn, ss, sv, dn, ds, dv, SUM(requests) AS requests, SUM(errors) AS errors,
           SUM(mtls) AS mtls, SUM(http) AS http, ARRAY[${SLOT_SUMS}] AS histogram,
           array_agg(DISTINCT protocol ORDER BY protocol) AS protocols
    FROM (
      SELECT ${keys}, "protocol" AS protocol, "requests"::float8 AS requests,
             CASE WHEN ${ERROR_OUTCOME_SQL} THEN "requests" ELSE 0 END::float8 AS errors,
             "mtlsRequests"::float8 AS mtls, (${HTTP_ROW_SQL})::int::float8 AS http,
             CASE WHEN ${HTTP_ROW_SQL} THEN "latencyBuckets" END AS l
      FROM "TelemetryRollup" WHERE ${ragged} AND ${REPORTER_FILTER}
      ${tenMinutes}
    ) r
    GROUP BY 1, 2, 3, 4, 5, 6`,
    db.service.findMany({
      select: {
        namespace: true,
        name: true,
        workloads: { select: { version: true }, distinct: ["version"] },
      },
    }),
  ]);
}
