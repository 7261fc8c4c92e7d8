-- TelemetryAccessRollup: per minute, requests per (callee, caller identity, method, first path segment), as the
-- callee's sidecar observed them (decision 006). Bounded by the proxies (a closed set of methods, at most 32
-- prefixes per proxy per interval) and by the control plane's checks; pruned with TelemetryRollup.

-- CreateTable
CREATE TABLE "TelemetryAccessRollup" (
    "id" BIGSERIAL NOT NULL,
    "bucket" TIMESTAMP(3) NOT NULL,
    "destNamespace" TEXT NOT NULL,
    "destService" TEXT NOT NULL,
    "sourceNamespace" TEXT NOT NULL,
    "sourceService" TEXT NOT NULL,
    "method" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "requests" BIGINT NOT NULL,

    CONSTRAINT "TelemetryAccessRollup_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "telemetry_access_rollup_key" ON "TelemetryAccessRollup"("bucket", "destNamespace", "destService", "sourceNamespace", "sourceService", "method", "path");

-- CreateIndex
CREATE INDEX "TelemetryAccessRollup_destNamespace_destService_bucket_idx" ON "TelemetryAccessRollup"("destNamespace", "destService", "bucket");

-- CreateIndex
CREATE INDEX "TelemetryAccessRollup_bucket_idx" ON "TelemetryAccessRollup"("bucket");
