-- A raw TCP connection that AccessPolicies refused is recorded with code 403 under protocol tcp (before, every
-- TCP row had code 0). It is no HTTP request: its edge stays a TCP edge and its 0 ms does not count as latency,
-- as services/src/traffic.ts (HTTP_ROW_SQL) now decides for the per-minute rows. Only the function changes; no
-- row written before needs recounting, since no TCP row had another code than 0.

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
    COALESCE((n."statusCode" <> 0 AND n."protocol" <> 'tcp')::int, 0)
      - COALESCE((o."statusCode" <> 0 AND o."protocol" <> 'tcp')::int, 0),
    COALESCE(n."requests", 0) - COALESCE(o."requests", 0),
    CASE WHEN n."statusCode" >= 500 OR (n."protocol" = 'grpc' AND n."statusCode" >= 400) THEN n."requests" ELSE 0 END
      - CASE WHEN o."statusCode" >= 500 OR (o."protocol" = 'grpc' AND o."statusCode" >= 400) THEN o."requests" ELSE 0 END,
    COALESCE(n."mtlsRequests", 0) - COALESCE(o."mtlsRequests", 0),
    COALESCE(n."durationSumMs", 0) - COALESCE(o."durationSumMs", 0),
    "telemetry_latency_add"(
      CASE WHEN n."statusCode" <> 0 AND n."protocol" <> 'tcp' THEN n."latencyBuckets" ELSE '{}' END,
      CASE WHEN o."statusCode" <> 0 AND o."protocol" <> 'tcp' THEN o."latencyBuckets" ELSE '{}' END, -1))
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
