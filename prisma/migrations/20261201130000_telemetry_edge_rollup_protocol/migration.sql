-- The edge rollup keeps the protocol, as TelemetryRollup does since 20261201110000_telemetry_protocol: one row
-- per edge bucket and protocol, so the graph lists an edge's protocols from whole buckets too, and errors
-- follow contracts' isErrorOutcome (5xx, or any gRPC status but OK: gRPC rows carry the HTTP status of their
-- grpc-status). Every row written before the protocol existed is HTTP/1.1, so the default fits them and the
-- error counts already in the table stay right.
ALTER TABLE "TelemetryEdgeRollup" ADD COLUMN "protocol" TEXT NOT NULL DEFAULT 'http1';
ALTER TABLE "TelemetryEdgeRollup" DROP CONSTRAINT "telemetry_edge_rollup_key";
ALTER TABLE "TelemetryEdgeRollup" ADD CONSTRAINT "telemetry_edge_rollup_key" PRIMARY KEY ("bucket","reporter","sourceNamespace","sourceService","sourceVersion","destNamespace","destService","destVersion","protocol");

-- Adds one per-minute row's contribution (n), takes one away (o), or both at once when they share an edge
-- bucket and protocol (an upsert's NEW and OLD). Either may be NULL. Latency counts HTTP rows only, as the
-- per-minute queries do.
CREATE OR REPLACE FUNCTION "telemetry_edge_rollup_apply"(n "TelemetryRollup", o "TelemetryRollup") RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  k "TelemetryRollup" := CASE WHEN n.id IS NOT NULL THEN n ELSE o END;
  kb TIMESTAMP(3) := "telemetry_edge_bucket"(k."bucket");
  d_rows INTEGER := (n.id IS NOT NULL)::int - (o.id IS NOT NULL)::int;
BEGIN
  INSERT INTO "TelemetryEdgeRollup" AS e ("bucket", "reporter", "sourceNamespace", "sourceService",
    "sourceVersion", "destNamespace", "destService", "destVersion", "protocol", "sourceRows", "httpRows",
    "requests", "errors", "mtlsRequests", "durationSumMs", "latencyBuckets")
  VALUES (kb, k."reporter", k."sourceNamespace", k."sourceService", k."sourceVersion", k."destNamespace",
    k."destService", k."destVersion", k."protocol",
    d_rows,
    COALESCE((n."statusCode" <> 0)::int, 0) - COALESCE((o."statusCode" <> 0)::int, 0),
    COALESCE(n."requests", 0) - COALESCE(o."requests", 0),
    CASE WHEN n."statusCode" >= 500 OR (n."protocol" = 'grpc' AND n."statusCode" >= 400) THEN n."requests" ELSE 0 END
      - CASE WHEN o."statusCode" >= 500 OR (o."protocol" = 'grpc' AND o."statusCode" >= 400) THEN o."requests" ELSE 0 END,
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
      AND "destVersion" = k."destVersion" AND "protocol" = k."protocol" AND "sourceRows" <= 0;
  END IF;
END;
$$;

CREATE OR REPLACE FUNCTION "telemetry_edge_rollup_track"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM "telemetry_edge_rollup_apply"(NEW, NULL);
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM "telemetry_edge_rollup_apply"(NULL, OLD);
  ELSIF "telemetry_edge_bucket"(NEW."bucket") = "telemetry_edge_bucket"(OLD."bucket")
    AND NEW."reporter" = OLD."reporter"
    AND NEW."sourceNamespace" = OLD."sourceNamespace" AND NEW."sourceService" = OLD."sourceService"
    AND NEW."sourceVersion" = OLD."sourceVersion" AND NEW."destNamespace" = OLD."destNamespace"
    AND NEW."destService" = OLD."destService" AND NEW."destVersion" = OLD."destVersion"
    AND NEW."protocol" = OLD."protocol" THEN
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

