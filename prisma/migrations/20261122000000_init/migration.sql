-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('viewer', 'editor', 'approver', 'admin');

-- CreateEnum
CREATE TYPE "WorkloadStatus" AS ENUM ('connected', 'disconnected');

-- CreateEnum
CREATE TYPE "ResourceKind" AS ENUM ('Route', 'DestinationPolicy', 'AccessPolicy', 'MeshSettings');

-- CreateEnum
CREATE TYPE "ChangeStatus" AS ENUM ('open', 'approved', 'rejected', 'applying', 'applied', 'failed', 'stale', 'cancelled', 'rolled_back');

-- CreateEnum
CREATE TYPE "ChangeSource" AS ENUM ('console', 'api', 'cli', 'system');

-- CreateEnum
CREATE TYPE "ChangeAction" AS ENUM ('create', 'update', 'delete');

-- CreateEnum
CREATE TYPE "ApprovalDecision" AS ENUM ('approve', 'reject');

-- CreateEnum
CREATE TYPE "RolloutState" AS ENUM ('pending', 'acked', 'nacked');

-- CreateEnum
CREATE TYPE "ActorKind" AS ENUM ('user', 'token', 'proxy', 'system');

-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT,
    "displayName" TEXT,
    "passwordHash" TEXT,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "lastLoginAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RoleBinding" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "namespace" TEXT NOT NULL DEFAULT '*',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdById" TEXT,

    CONSTRAINT "RoleBinding_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiToken" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "role" "Role",
    "namespace" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMP(3),
    "expiresAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "ApiToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "JoinToken" (
    "id" TEXT NOT NULL,
    "name" TEXT,
    "namespace" TEXT NOT NULL,
    "service" TEXT,
    "tokenHash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),
    "lastUsedAt" TIMESTAMP(3),

    CONSTRAINT "JoinToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Service" (
    "id" TEXT NOT NULL,
    "namespace" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "protocol" TEXT NOT NULL DEFAULT 'http',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Service_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Workload" (
    "id" TEXT NOT NULL,
    "serviceId" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "address" TEXT NOT NULL,
    "identity" TEXT NOT NULL,
    "proxyVersion" TEXT,
    "controlPlaneId" TEXT,
    "joinTokenId" TEXT,
    "status" "WorkloadStatus" NOT NULL DEFAULT 'connected',
    "connectedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "disconnectedAt" TIMESTAMP(3),
    "ackedVersion" TEXT,
    "nackedVersion" TEXT,
    "nackReason" TEXT,
    "certificateSerial" TEXT,
    "certificateExpires" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Workload_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Resource" (
    "id" TEXT NOT NULL,
    "kind" "ResourceKind" NOT NULL,
    "namespace" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "spec" JSONB NOT NULL,
    "revision" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Resource_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ResourceRevision" (
    "id" TEXT NOT NULL,
    "kind" "ResourceKind" NOT NULL,
    "namespace" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "revision" INTEGER NOT NULL,
    "spec" JSONB,
    "changeRequestId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ResourceRevision_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ChangeRequest" (
    "id" TEXT NOT NULL,
    "number" SERIAL NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "authorId" TEXT NOT NULL,
    "status" "ChangeStatus" NOT NULL DEFAULT 'open',
    "source" "ChangeSource" NOT NULL DEFAULT 'console',
    "requiredApprovals" INTEGER NOT NULL DEFAULT 1,
    "rollbackOfId" TEXT,
    "fastTrackReason" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "appliedAt" TIMESTAMP(3),

    CONSTRAINT "ChangeRequest_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ChangeOperation" (
    "id" TEXT NOT NULL,
    "changeRequestId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "action" "ChangeAction" NOT NULL,
    "kind" "ResourceKind" NOT NULL,
    "namespace" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "spec" JSONB,
    "baseRevision" INTEGER,

    CONSTRAINT "ChangeOperation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Approval" (
    "id" TEXT NOT NULL,
    "changeRequestId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "decision" "ApprovalDecision" NOT NULL,
    "comment" TEXT NOT NULL DEFAULT '',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Approval_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ConfigGeneration" (
    "id" TEXT NOT NULL,
    "number" SERIAL NOT NULL,
    "changeRequestId" TEXT,
    "reason" TEXT NOT NULL DEFAULT '',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ConfigGeneration_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ProxyConfigStatus" (
    "id" TEXT NOT NULL,
    "generationId" TEXT NOT NULL,
    "workloadId" TEXT NOT NULL,
    "state" "RolloutState" NOT NULL DEFAULT 'pending',
    "version" TEXT NOT NULL,
    "reason" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ProxyConfigStatus_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actorKind" "ActorKind" NOT NULL,
    "actorId" TEXT,
    "actorName" TEXT NOT NULL,
    "via" "ChangeSource" NOT NULL,
    "action" TEXT NOT NULL,
    "targetKind" TEXT,
    "targetId" TEXT,
    "namespace" TEXT,
    "details" JSONB NOT NULL DEFAULT '{}',
    "ip" TEXT,
    "userAgent" TEXT,

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TelemetryRollup" (
    "id" BIGSERIAL NOT NULL,
    "bucket" TIMESTAMP(3) NOT NULL,
    "sourceNamespace" TEXT NOT NULL,
    "sourceService" TEXT NOT NULL,
    "sourceVersion" TEXT NOT NULL,
    "destNamespace" TEXT NOT NULL,
    "destService" TEXT NOT NULL,
    "destVersion" TEXT NOT NULL,
    "statusCode" INTEGER NOT NULL,
    "reporter" TEXT NOT NULL,
    "requests" BIGINT NOT NULL,
    "mtlsRequests" BIGINT NOT NULL DEFAULT 0,
    "durationSumMs" DOUBLE PRECISION NOT NULL,
    "latencyBuckets" BIGINT[],
    "bytesSent" BIGINT NOT NULL DEFAULT 0,
    "bytesReceived" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "TelemetryRollup_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CertificateAuthority" (
    "id" TEXT NOT NULL,
    "trustDomain" TEXT NOT NULL,
    "certPem" TEXT NOT NULL,
    "encryptedKey" BYTEA NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "notBefore" TIMESTAMP(3) NOT NULL,
    "notAfter" TIMESTAMP(3) NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "CertificateAuthority_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NamespaceSetting" (
    "namespace" TEXT NOT NULL,
    "requiredApprovals" INTEGER NOT NULL DEFAULT 1,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "NamespaceSetting_pkey" PRIMARY KEY ("namespace")
);

-- CreateIndex
CREATE UNIQUE INDEX "User_name_key" ON "User"("name");

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- CreateIndex
CREATE UNIQUE INDEX "RoleBinding_userId_role_namespace_key" ON "RoleBinding"("userId", "role", "namespace");

-- CreateIndex
CREATE UNIQUE INDEX "ApiToken_tokenHash_key" ON "ApiToken"("tokenHash");

-- CreateIndex
CREATE INDEX "ApiToken_userId_idx" ON "ApiToken"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "JoinToken_tokenHash_key" ON "JoinToken"("tokenHash");

-- CreateIndex
CREATE UNIQUE INDEX "Service_namespace_name_key" ON "Service"("namespace", "name");

-- CreateIndex
CREATE INDEX "Workload_serviceId_status_idx" ON "Workload"("serviceId", "status");

-- CreateIndex
CREATE INDEX "Workload_status_lastSeenAt_idx" ON "Workload"("status", "lastSeenAt");

-- CreateIndex
CREATE INDEX "Resource_namespace_idx" ON "Resource"("namespace");

-- CreateIndex
CREATE UNIQUE INDEX "Resource_kind_namespace_name_key" ON "Resource"("kind", "namespace", "name");

-- CreateIndex
CREATE UNIQUE INDEX "ResourceRevision_kind_namespace_name_revision_key" ON "ResourceRevision"("kind", "namespace", "name", "revision");

-- CreateIndex
CREATE UNIQUE INDEX "ChangeRequest_number_key" ON "ChangeRequest"("number");

-- CreateIndex
CREATE INDEX "ChangeRequest_status_idx" ON "ChangeRequest"("status");

-- CreateIndex
CREATE INDEX "ChangeOperation_kind_namespace_name_idx" ON "ChangeOperation"("kind", "namespace", "name");

-- CreateIndex
CREATE UNIQUE INDEX "ChangeOperation_changeRequestId_index_key" ON "ChangeOperation"("changeRequestId", "index");

-- CreateIndex
CREATE UNIQUE INDEX "Approval_changeRequestId_userId_key" ON "Approval"("changeRequestId", "userId");

-- CreateIndex
CREATE UNIQUE INDEX "ConfigGeneration_number_key" ON "ConfigGeneration"("number");

-- CreateIndex
CREATE INDEX "ProxyConfigStatus_workloadId_idx" ON "ProxyConfigStatus"("workloadId");

-- CreateIndex
CREATE UNIQUE INDEX "ProxyConfigStatus_generationId_workloadId_key" ON "ProxyConfigStatus"("generationId", "workloadId");

-- CreateIndex
CREATE INDEX "AuditEvent_at_idx" ON "AuditEvent"("at");

-- CreateIndex
CREATE INDEX "AuditEvent_targetKind_targetId_idx" ON "AuditEvent"("targetKind", "targetId");

-- CreateIndex
CREATE INDEX "TelemetryRollup_destNamespace_bucket_idx" ON "TelemetryRollup"("destNamespace", "bucket");

-- CreateIndex
CREATE INDEX "TelemetryRollup_sourceNamespace_bucket_idx" ON "TelemetryRollup"("sourceNamespace", "bucket");

-- CreateIndex
CREATE INDEX "TelemetryRollup_bucket_idx" ON "TelemetryRollup"("bucket");

-- CreateIndex
CREATE UNIQUE INDEX "telemetry_rollup_key" ON "TelemetryRollup"("bucket", "reporter", "sourceNamespace", "sourceService", "sourceVersion", "destNamespace", "destService", "destVersion", "statusCode");

-- CreateIndex
CREATE UNIQUE INDEX "CertificateAuthority_fingerprint_key" ON "CertificateAuthority"("fingerprint");

-- AddForeignKey
ALTER TABLE "RoleBinding" ADD CONSTRAINT "RoleBinding_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoleBinding" ADD CONSTRAINT "RoleBinding_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiToken" ADD CONSTRAINT "ApiToken_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "JoinToken" ADD CONSTRAINT "JoinToken_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Workload" ADD CONSTRAINT "Workload_serviceId_fkey" FOREIGN KEY ("serviceId") REFERENCES "Service"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Workload" ADD CONSTRAINT "Workload_joinTokenId_fkey" FOREIGN KEY ("joinTokenId") REFERENCES "JoinToken"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ResourceRevision" ADD CONSTRAINT "ResourceRevision_changeRequestId_fkey" FOREIGN KEY ("changeRequestId") REFERENCES "ChangeRequest"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ChangeRequest" ADD CONSTRAINT "ChangeRequest_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ChangeRequest" ADD CONSTRAINT "ChangeRequest_rollbackOfId_fkey" FOREIGN KEY ("rollbackOfId") REFERENCES "ChangeRequest"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ChangeOperation" ADD CONSTRAINT "ChangeOperation_changeRequestId_fkey" FOREIGN KEY ("changeRequestId") REFERENCES "ChangeRequest"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Approval" ADD CONSTRAINT "Approval_changeRequestId_fkey" FOREIGN KEY ("changeRequestId") REFERENCES "ChangeRequest"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Approval" ADD CONSTRAINT "Approval_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ConfigGeneration" ADD CONSTRAINT "ConfigGeneration_changeRequestId_fkey" FOREIGN KEY ("changeRequestId") REFERENCES "ChangeRequest"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ProxyConfigStatus" ADD CONSTRAINT "ProxyConfigStatus_generationId_fkey" FOREIGN KEY ("generationId") REFERENCES "ConfigGeneration"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ProxyConfigStatus" ADD CONSTRAINT "ProxyConfigStatus_workloadId_fkey" FOREIGN KEY ("workloadId") REFERENCES "Workload"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- The audit log is append-only: no API may edit or erase history, and neither may a stray SQL statement.
CREATE FUNCTION "audit_event_is_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'AuditEvent is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER "AuditEvent_append_only"
  BEFORE UPDATE OR DELETE ON "AuditEvent"
  FOR EACH ROW EXECUTE FUNCTION "audit_event_is_append_only"();

CREATE TRIGGER "AuditEvent_no_truncate"
  BEFORE TRUNCATE ON "AuditEvent"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_event_is_append_only"();
