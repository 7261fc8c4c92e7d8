-- Revoking a join token evicts the proxies that joined with it and revokes their workload certificates.
ALTER TABLE "JoinToken" ADD COLUMN "evictedProxies" INTEGER;

CREATE TABLE "RevokedCertificate" (
    "serial" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "spiffeId" TEXT NOT NULL,
    "workloadId" TEXT,
    "joinTokenId" TEXT,
    "revokedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RevokedCertificate_pkey" PRIMARY KEY ("serial")
);

CREATE INDEX "RevokedCertificate_expiresAt_idx" ON "RevokedCertificate"("expiresAt");
