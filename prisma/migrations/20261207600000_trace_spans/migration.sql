-- Spans of sampled traces (issue 18): the control plane's trace store. See the TraceSpan model.
CREATE TABLE "TraceSpan" (
    "traceId" CHAR(32) NOT NULL,
    "spanId" CHAR(16) NOT NULL,
    "parentSpanId" CHAR(16),
    "namespace" TEXT NOT NULL,
    "service" TEXT NOT NULL,
    "version" TEXT NOT NULL DEFAULT '',
    "origin" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" SMALLINT NOT NULL,
    "startedAt" TIMESTAMPTZ(6) NOT NULL,
    "durationMs" DOUBLE PRECISION NOT NULL,
    "statusCode" SMALLINT NOT NULL,
    "statusMessage" TEXT NOT NULL DEFAULT '',
    "httpStatus" SMALLINT,
    "grpcStatus" SMALLINT,
    "peerNamespace" TEXT,
    "peerService" TEXT,
    "attributes" JSONB NOT NULL,
    "resource" JSONB NOT NULL,
    "events" JSONB NOT NULL DEFAULT '[]',
    "receivedAt" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TraceSpan_pkey" PRIMARY KEY ("traceId","spanId")
);

-- CreateIndex
CREATE INDEX "TraceSpan_startedAt_idx" ON "TraceSpan"("startedAt");

-- CreateIndex
CREATE INDEX "TraceSpan_namespace_service_startedAt_idx" ON "TraceSpan"("namespace", "service", "startedAt");
