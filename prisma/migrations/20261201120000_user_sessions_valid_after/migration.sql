-- Console sessions signed in before this instant are over (set when an admin resets the password).
ALTER TABLE "User" ADD COLUMN "sessionsValidAfter" TIMESTAMP(3);
