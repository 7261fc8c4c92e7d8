-- Every workload certificate issued, until it expires: a revoked join token revokes all of its certificates,
-- also those a renewal or a reconnect replaced.
CREATE TABLE "IssuedCertificate" (
    "serial" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "spiffeId" TEXT NOT NULL,
    "workloadId" TEXT,
    "joinTokenId" TEXT,
    "issuedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "IssuedCertificate_pkey" PRIMARY KEY ("serial")
);

CREATE INDEX "IssuedCertificate_joinTokenId_expiresAt_idx" ON "IssuedCertificate"("joinTokenId", "expiresAt");

CREATE INDEX "IssuedCertificate_expiresAt_idx" ON "IssuedCertificate"("expiresAt");
