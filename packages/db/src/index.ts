// The public surface of @trellis/db: the Prisma client and connection checks. Server-only.
// Starting PostgreSQL and migrating live in "@trellis/db/admin", so the console's bundle never pulls them in.
export { createDb, type Db } from "./client.js";
export * from "./generated/prisma/client.js";
export { hashToken } from "./token-hash.js";
export { checkDatabase, DatabaseConnectError, redactUrl } from "./errors.js";
