-- TelemetryEdgeRollupHour: TelemetryEdgeRollup summed per hour (decision 020). The graph covers a window with
-- whole hours, whole 10-minute buckets and at most five minutes at either end (adding or subtracting, see
-- packages/services/src/graph-window.ts), so a 24-hour window sums about 24 rows per edge instead of 144
-- 10-minute ones or 1,440 minutes × status codes.
--
-- Kept in step by the same row trigger as the 10-minute rows, in the same statement: whatever writes
-- TelemetryRollup (the control plane's upserts, retention's deletes, tests) moves both, so an hour row always
-- equals the sum of its per-minute rows, and goes when the last of them goes. Retention therefore needs
-- nothing of its own: the hour rows are pruned with the minutes they sum.

-- CreateTable
CREATE TABLE "TelemetryEdgeRollupHour" (
    "bucket" TIMESTAMP(3) NOT NULL,
    "reporter" TEXT NOT NULL,
    "sourceNamespace" TEXT NOT NULL,
    "sourceService" TEXT NOT NULL,
    "sourceVersion" TEXT NOT NULL,
    "destNamespace" TEXT NOT NULL,
    "destService" TEXT NOT NULL,
    "destVersion" TEXT NOT NULL,
    "protocol" TEXT NOT NULL DEFAULT 'http1',
    "sourceRows" INTEGER NOT NULL,
    "httpRows" INTEGER NOT NULL,
    "requests" BIGINT NOT NULL,
    "errors" BIGINT NOT NULL,
    "mtlsRequests" BIGINT NOT NULL,
    "durationSumMs" DOUBLE PRECISION NOT NULL,
    "latencyBuckets" BIGINT[],

    CONSTRAINT "telemetry_edge_rollup_hour_key" PRIMARY KEY ("bucket","reporter","sourceNamespace","sourceService","sourceVersion","destNamespace","destService","destVersion","protocol")
);

-- Updated in place by every per-minute write, as the 10-minute rows are (see 20261201100000): room on the
-- page keeps those updates HOT.
ALTER TABLE "TelemetryEdgeRollupHour" SET (fillfactor = 50);

-- CreateIndex
CREATE INDEX "TelemetryEdgeRollupHour_destNamespace_bucket_idx" ON "TelemetryEdgeRollupHour"("destNamespace", "bucket");

-- CreateIndex
CREATE INDEX "TelemetryEdgeRollupHour_sourceNamespace_bucket_idx" ON "TelemetryEdgeRollupHour"("sourceNamespace", "bucket");

-- The trigger's work for one per-minute row's change: its contribution (n), minus what it held before (o),
-- into its 10-minute row and now its hour row too. The deltas are computed once; the two upserts are written
-- out (not one EXECUTE'd statement per table) so that both keep cached plans, as the 10-minute one had.
CREATE OR REPLACE FUNCTION "telemetry_edge_rollup_apply"(n "TelemetryRollup", o "TelemetryRollup") RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  k "TelemetryRollup" := CASE WHEN n.id IS NOT NULL THEN n ELSE o END;
  kb TIMESTAMP(3) := "telemetry_edge_bucket"(k."bucket");
  hb TIMESTAMP(3) := date_trunc('hour', k."bucket");
  d_rows INTEGER := (n.id IS NOT NULL)::int - (o.id IS NOT NULL)::int;
  d_http INTEGER := COALESCE((n."statusCode" <> 0 AND n."protocol" <> 'tcp')::int, 0)
    - COALESCE((o."statusCode" <> 0 AND o."protocol" <> 'tcp')::int, 0);
  d_requests BIGINT := COALESCE(n."requests", 0) - COALESCE(o."requests", 0);
  d_errors BIGINT :=
    CASE WHEN n."statusCode" >= 500 OR (n."protocol" = 'grpc' AND n."statusCode" >= 400) THEN n."requests" ELSE 0 END
    - CASE WHEN o."statusCode" >= 500 OR (o."protocol" = 'grpc' AND o."statusCode" >= 400) THEN o."requests" ELSE 0 END;
  d_mtls BIGINT := COALESCE(n."mtlsRequests", 0) - COALESCE(o."mtlsRequests", 0);
  d_duration DOUBLE PRECISION := COALESCE(n."durationSumMs", 0) - COALESCE(o."durationSumMs", 0);
  d_latency BIGINT[] := "telemetry_latency_add"(
    CASE WHEN n."statusCode" <> 0 AND n."protocol" <> 'tcp' THEN n."latencyBuckets" ELSE '{}' END,
    CASE WHEN o."statusCode" <> 0 AND o."protocol" <> 'tcp' THEN o."latencyBuckets" ELSE '{}' END, -1);
BEGIN
  INSERT INTO "TelemetryEdgeRollup" AS e ("bucket", "reporter", "sourceNamespace", "sourceService",
    "sourceVersion", "destNamespace", "destService", "destVersion", "protocol", "sourceRows", "httpRows",
    "requests", "errors", "mtlsRequests", "durationSumMs", "latencyBuckets")
  VALUES (kb, k."reporter", k."sourceNamespace", k."sourceService", k."sourceVersion", k."destNamespace",
    k."destService", k."destVersion", k."protocol", d_rows, d_http, d_requests, d_errors, d_mtls, d_duration,
    d_latency)
  ON CONFLICT ON CONSTRAINT "telemetry_edge_rollup_key" DO UPDATE SET
    "sourceRows" = e."sourceRows" + EXCLUDED."sourceRows",
    "httpRows" = e."httpRows" + EXCLUDED."httpRows",
    "requests" = e."requests" + EXCLUDED."requests",
    "errors" = e."errors" + EXCLUDED."errors",
    "mtlsRequests" = e."mtlsRequests" + EXCLUDED."mtlsRequests",
    "durationSumMs" = e."durationSumMs" + EXCLUDED."durationSumMs",
    "latencyBuckets" = "telemetry_latency_add"(e."latencyBuckets", EXCLUDED."latencyBuckets", 1);
  INSERT INTO "TelemetryEdgeRollupHour" AS e ("bucket", "reporter", "sourceNamespace", "sourceService",
    "sourceVersion", "destNamespace", "destService", "destVersion", "protocol", "sourceRows", "httpRows",
    "requests", "errors", "mtlsRequests", "durationSumMs", "latencyBuckets")
  VALUES (hb, k."reporter", k."sourceNamespace", k."sourceService", k."sourceVersion", k."destNamespace",
    k."destService", k."destVersion", k."protocol", d_rows, d_http, d_requests, d_errors, d_mtls, d_duration,
    d_latency)
  ON CONFLICT ON CONSTRAINT "telemetry_edge_rollup_hour_key" DO UPDATE SET
    "sourceRows" = e."sourceRows" + EXCLUDED."sourceRows",
    "httpRows" = e."httpRows" + EXCLUDED."httpRows",
    "requests" = e."requests" + EXCLUDED."requests",
    "errors" = e."errors" + EXCLUDED."errors",
    "mtlsRequests" = e."mtlsRequests" + EXCLUDED."mtlsRequests",
    "durationSumMs" = e."durationSumMs" + EXCLUDED."durationSumMs",
    "latencyBuckets" = "telemetry_latency_add"(e."latencyBuckets", EXCLUDED."latencyBuckets", 1);
  IF d_rows < 0 THEN
    -- The last per-minute row of a bucket is gone: so is the edge's row at each level, as in TelemetryRollup.
    DELETE FROM "TelemetryEdgeRollup"
    WHERE "bucket" = kb AND "reporter" = k."reporter" AND "sourceNamespace" = k."sourceNamespace"
      AND "sourceService" = k."sourceService" AND "sourceVersion" = k."sourceVersion"
      AND "destNamespace" = k."destNamespace" AND "destService" = k."destService"
      AND "destVersion" = k."destVersion" AND "protocol" = k."protocol" AND "sourceRows" <= 0;
    DELETE FROM "TelemetryEdgeRollupHour"
    WHERE "bucket" = hb AND "reporter" = k."reporter" AND "sourceNamespace" = k."sourceNamespace"
      AND "sourceService" = k."sourceService" AND "sourceVersion" = k."sourceVersion"
      AND "destNamespace" = k."destNamespace" AND "destService" = k."destService"
      AND "destVersion" = k."destVersion" AND "protocol" = k."protocol" AND "sourceRows" <= 0;
  END IF;
END;
$$;

-- TRUNCATE of the per-minute rows empties both levels.
CREATE OR REPLACE FUNCTION "telemetry_edge_rollup_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE "TelemetryEdgeRollup", "TelemetryEdgeRollupHour";
  RETURN NULL;
END;
$$;

-- Backfill from the 10-minute rows (equal, by their trigger, to the per-minute rows they sum); the migration
-- runs in one transaction, so no write slips between this and the trigger taking over. Histograms are summed
-- slot by slot.
WITH slots AS (
  SELECT date_trunc('hour', "bucket") AS "bucket", "reporter", "sourceNamespace", "sourceService", "sourceVersion", "destNamespace", "destService", "destVersion", "protocol", t.i, SUM(t.x)::bigint AS v
  FROM "TelemetryEdgeRollup", unnest("latencyBuckets") WITH ORDINALITY AS t(x, i)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
),
latency AS (
  SELECT "bucket", "reporter", "sourceNamespace", "sourceService", "sourceVersion", "destNamespace", "destService", "destVersion", "protocol", array_agg(v ORDER BY i) AS "latencyBuckets"
  FROM slots
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
),
totals AS (
  SELECT date_trunc('hour', "bucket") AS "bucket", "reporter", "sourceNamespace", "sourceService", "sourceVersion", "destNamespace", "destService", "destVersion", "protocol",
    SUM("sourceRows")::int AS "sourceRows", SUM("httpRows")::int AS "httpRows",
    SUM("requests")::bigint AS "requests", SUM("errors")::bigint AS "errors",
    SUM("mtlsRequests")::bigint AS "mtlsRequests", SUM("durationSumMs") AS "durationSumMs"
  FROM "TelemetryEdgeRollup"
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
)
INSERT INTO "TelemetryEdgeRollupHour" ("bucket", "reporter", "sourceNamespace", "sourceService", "sourceVersion", "destNamespace", "destService", "destVersion", "protocol", "sourceRows", "httpRows", "requests", "errors",
  "mtlsRequests", "durationSumMs", "latencyBuckets")
SELECT t."bucket", t."reporter", t."sourceNamespace", t."sourceService", t."sourceVersion", t."destNamespace",
  t."destService", t."destVersion", t."protocol", t."sourceRows", t."httpRows", t."requests", t."errors",
  t."mtlsRequests", t."durationSumMs", COALESCE(l."latencyBuckets", '{}')
FROM totals t
LEFT JOIN latency l USING ("bucket", "reporter", "sourceNamespace", "sourceService", "sourceVersion", "destNamespace", "destService", "destVersion", "protocol");
