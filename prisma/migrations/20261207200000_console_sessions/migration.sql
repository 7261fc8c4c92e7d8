-- Console sessions kept on the server: sign-out, disabling a user, a password reset and a role change delete
-- the rows, so a copied session cookie stops working. Replaces User.sessionsValidAfter, which could only end
-- every session older than an instant, and let a re-enabled user's old sessions live again.
CREATE TABLE "ConsoleSession" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "ip" TEXT,
    "userAgent" TEXT,

    CONSTRAINT "ConsoleSession_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "ConsoleSession_userId_idx" ON "ConsoleSession"("userId");

CREATE INDEX "ConsoleSession_expiresAt_idx" ON "ConsoleSession"("expiresAt");

ALTER TABLE "ConsoleSession" ADD CONSTRAINT "ConsoleSession_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Sessions from before this migration have no row: everyone signs in again once.
ALTER TABLE "User" DROP COLUMN "sessionsValidAfter";
