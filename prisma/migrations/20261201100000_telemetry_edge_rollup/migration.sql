-- TelemetryEdgeRollup: TelemetryRollup summed per 10 minutes, per reporter and edge, without the status code.
-- The graph reads a window's whole 10-minute buckets here and only its ragged ends from TelemetryRollup,
-- so a 1-hour window sums about 6 rows per edge instead of 60 × status codes.
--
-- Row triggers on TelemetryRollup keep it in step, whoever writes: the control plane's upserts (an
-- INSERT … ON CONFLICT DO UPDATE fires the UPDATE trigger, which adds NEW − OLD), retention's deletes
-- (which subtract) and tests. Statement triggers with transition tables would batch better, but the control
-- plane writes one row per statement, where a row trigger with a cached plan is the cheaper of the two.

-- CreateTable
CREATE TABLE "TelemetryEdgeRollup" (
    "bucket" TIMESTAMP(3) NOT NULL,
    "reporter" TEXT NOT NULL,
    "sourceNamespace" TEXT NOT NULL,
    "sourceService" TEXT NOT NULL,
    "sourceVersion" TEXT NOT NULL,
    "destNamespace" TEXT NOT NULL,
    "destService" TEXT NOT NULL,
    "destVersion" TEXT NOT NULL,
    "sourceRows" INTEGER NOT NULL,
    "httpRows" INTEGER NOT NULL,
    "requests" BIGINT NOT NULL,
    "errors" BIGINT NOT NULL,
    "mtlsRequests" BIGINT NOT NULL,
    "durationSumMs" DOUBLE PRECISION NOT NULL,
    "latencyBuckets" BIGINT[],

    CONSTRAINT "telemetry_edge_rollup_key" PRIMARY KEY ("bucket","reporter","sourceNamespace","sourceService","sourceVersion","destNamespace","destService","destVersion")
);

-- Every per-minute write updates its edge's row in place, dozens of times per 10-minute bucket: leave room on
-- each page so those are HOT updates (no index entries, dead versions pruned on the page) instead of bloat.
-- Measured with the graph benchmark: 39 MB with a third of updates non-HOT at the default 100, 21 MB and all
-- HOT at 50.
ALTER TABLE "TelemetryEdgeRollup" SET (fillfactor = 50);

-- CreateIndex
CREATE INDEX "TelemetryEdgeRollup_destNamespace_bucket_idx" ON "TelemetryEdgeRollup"("destNamespace", "bucket");

-- CreateIndex
CREATE INDEX "TelemetryEdgeRollup_sourceNamespace_bucket_idx" ON "TelemetryEdgeRollup"("sourceNamespace", "bucket");

-- The 10-minute bucket a per-minute bucket falls in, aligned on the epoch (the services layer cuts windows
-- the same way: see packages/services/src/traffic.ts).
CREATE FUNCTION "telemetry_edge_bucket"(b TIMESTAMP(3)) RETURNS TIMESTAMP(3)
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN date_bin('10 minutes', b, TIMESTAMP '1970-01-01');

-- a + sign × b, element-wise; a missing element counts as 0, so histograms of different lengths still add.
CREATE FUNCTION "telemetry_latency_add"(a BIGINT[], b BIGINT[], sign INTEGER) RETURNS BIGINT[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN ARRAY(SELECT COALESCE(x, 0) + sign * COALESCE(y, 0) FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i) ORDER BY i);

-- Adds one per-minute row's contribution (n), takes one away (o), or both at once when they share an edge
-- bucket (an upsert's NEW and OLD). Either may be NULL. Errors are 5xx; latency counts HTTP rows only, as the
-- per-minute queries do.
CREATE FUNCTION "telemetry_edge_rollup_apply"(n "TelemetryRollup", o "TelemetryRollup") RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  k "TelemetryRollup" := CASE WHEN n.id IS NOT NULL THEN n ELSE o END;
  kb TIMESTAMP(3) := "telemetry_edge_bucket"(k."bucket");
  d_rows INTEGER := (n.id IS NOT NULL)::int - (o.id IS NOT NULL)::int;
BEGIN
  INSERT INTO "TelemetryEdgeRollup" AS e ("bucket", "reporter", "sourceNamespace", "sourceService",
    "sourceVersion", "destNamespace", "destService", "destVersion", "sourceRows", "httpRows", "requests",
    "errors", "mtlsRequests", "durationSumMs", "latencyBuckets")
  VALUES (kb, k."reporter", k."sourceNamespace", k."sourceService", k."sourceVersion", k."destNamespace",
    k."destService", k."destVersion",
    d_rows,
    COALESCE((n."statusCode" <> 0)::int, 0) - COALESCE((o."statusCode" <> 0)::int, 0),
    COALESCE(n."requests", 0) - COALESCE(o."requests", 0),
    CASE WHEN n."statusCode" >= 500 THEN n."requests" ELSE 0 END
      - CASE WHEN o."statusCode" >= 500 THEN o."requests" ELSE 0 END,
    COALESCE(n."mtlsRequests", 0) - COALESCE(o."mtlsRequests", 0),
    COALESCE(n."durationSumMs", 0) - COALESCE(o."durationSumMs", 0),
    "telemetry_latency_add"(
      CASE WHEN n."statusCode" <> 0 THEN n."latencyBuckets" ELSE '{}' END,
      CASE WHEN o."statusCode" <> 0 THEN o."latencyBuckets" ELSE '{}' END, -1))
  ON CONFLICT ON CONSTRAINT "telemetry_edge_rollup_key" DO UPDATE SET
    "sourceRows" = e."sourceRows" + EXCLUDED."sourceRows",
    "httpRows" = e."httpRows" + EXCLUDED."httpRows",
    "requests" = e."requests" + EXCLUDED."requests",
    "errors" = e."errors" + EXCLUDED."errors",
    "mtlsRequests" = e."mtlsRequests" + EXCLUDED."mtlsRequests",
    "durationSumMs" = e."durationSumMs" + EXCLUDED."durationSumMs",
    "latencyBuckets" = "telemetry_latency_add"(e."latencyBuckets", EXCLUDED."latencyBuckets", 1);
  IF d_rows < 0 THEN
    -- The last per-minute row of this edge bucket is gone: so is the edge, as it is in TelemetryRollup.
    DELETE FROM "TelemetryEdgeRollup"
    WHERE "bucket" = kb AND "reporter" = k."reporter" AND "sourceNamespace" = k."sourceNamespace"
      AND "sourceService" = k."sourceService" AND "sourceVersion" = k."sourceVersion"
      AND "destNamespace" = k."destNamespace" AND "destService" = k."destService"
      AND "destVersion" = k."destVersion" AND "sourceRows" <= 0;
  END IF;
END;
$$;

CREATE FUNCTION "telemetry_edge_rollup_track"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM "telemetry_edge_rollup_apply"(NEW, NULL);
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM "telemetry_edge_rollup_apply"(NULL, OLD);
  ELSIF "telemetry_edge_bucket"(NEW."bucket") = "telemetry_edge_bucket"(OLD."bucket")
    AND NEW."reporter" = OLD."reporter"
    AND NEW."sourceNamespace" = OLD."sourceNamespace" AND NEW."sourceService" = OLD."sourceService"
    AND NEW."sourceVersion" = OLD."sourceVersion" AND NEW."destNamespace" = OLD."destNamespace"
    AND NEW."destService" = OLD."destService" AND NEW."destVersion" = OLD."destVersion" THEN
    -- The control plane's ON CONFLICT DO UPDATE: one upsert of the difference.
    PERFORM "telemetry_edge_rollup_apply"(NEW, OLD);
  ELSE
    -- An update that moves the row to another edge bucket: out of the old one, into the new one.
    PERFORM "telemetry_edge_rollup_apply"(NULL, OLD);
    PERFORM "telemetry_edge_rollup_apply"(NEW, NULL);
  END IF;
  RETURN NULL;
END;
$$;

CREATE FUNCTION "telemetry_edge_rollup_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE "TelemetryEdgeRollup";
  RETURN NULL;
END;
$$;

CREATE TRIGGER "TelemetryRollup_edge_rollup"
  AFTER INSERT OR UPDATE OR DELETE ON "TelemetryRollup"
  FOR EACH ROW EXECUTE FUNCTION "telemetry_edge_rollup_track"();

CREATE TRIGGER "TelemetryRollup_edge_rollup_truncate"
  AFTER TRUNCATE ON "TelemetryRollup"
  FOR EACH STATEMENT EXECUTE FUNCTION "telemetry_edge_rollup_truncate"();

-- Backfill from the rows already there, in one pass (the triggers only see rows written from now on; the
-- migration runs in one transaction, so no write slips between the two).
WITH keyed AS (
  SELECT "telemetry_edge_bucket"("bucket") AS "bucket", "reporter", "sourceNamespace", "sourceService",
    "sourceVersion", "destNamespace", "destService", "destVersion", "statusCode", "requests",
    "mtlsRequests", "durationSumMs", "latencyBuckets"
  FROM "TelemetryRollup"
),
latency AS (
  SELECT "bucket", "reporter", "sourceNamespace", "sourceService", "sourceVersion", "destNamespace",
    "destService", "destVersion", array_agg(v ORDER BY i) AS "latencyBuckets"
  FROM (
    SELECT "bucket", "reporter", "sourceNamespace", "sourceService", "sourceVersion", "destNamespace",
      "destService", "destVersion", b.i, SUM(b.v)::bigint AS v
    FROM keyed, unnest("latencyBuckets") WITH ORDINALITY AS b(v, i)
    WHERE "statusCode" <> 0
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
  ) per_slot
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
)
INSERT INTO "TelemetryEdgeRollup" ("bucket", "reporter", "sourceNamespace", "sourceService", "sourceVersion",
  "destNamespace", "destService", "destVersion", "sourceRows", "httpRows", "requests", "errors",
  "mtlsRequests", "durationSumMs", "latencyBuckets")
SELECT t.*, COALESCE(l."latencyBuckets", '{}')
FROM (
  SELECT "bucket", "reporter", "sourceNamespace", "sourceService", "sourceVersion", "destNamespace",
    "destService", "destVersion",
    COUNT(*)::int,
    (COUNT(*) FILTER (WHERE "statusCode" <> 0))::int,
    SUM("requests")::bigint,
    COALESCE(SUM("requests") FILTER (WHERE "statusCode" >= 500), 0)::bigint,
    SUM("mtlsRequests")::bigint,
    SUM("durationSumMs")
  FROM keyed
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
) t
LEFT JOIN latency l USING ("bucket", "reporter", "sourceNamespace", "sourceService", "sourceVersion",
  "destNamespace", "destService", "destVersion");
