-- What each call spoke (`http1`, `http2`, `grpc`, `websocket`, `tcp`; TRAFFIC_PROTOCOLS in contracts), as the
-- proxies now report it. It is part of the rollup's key, so a gRPC and an HTTP/1.1 call between the same two
-- workloads with the same status stay apart. Rows from before get 'http1': proxies reported nothing else as
-- requests then. Adding a column with a constant default rewrites no row (and fires no row trigger).
ALTER TABLE "TelemetryRollup" ADD COLUMN "protocol" TEXT NOT NULL DEFAULT 'http1';

-- The key the control plane's upsert (ON CONFLICT) names, now with the protocol.
DROP INDEX "telemetry_rollup_key";
CREATE UNIQUE INDEX "telemetry_rollup_key" ON "TelemetryRollup"("bucket", "reporter", "sourceNamespace", "sourceService", "sourceVersion", "destNamespace", "destService", "destVersion", "statusCode", "protocol");
