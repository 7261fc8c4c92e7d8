// The public surface of @trellis/db. Server-only: never import this from client components.
export { createDb, type Db } from "./client.js";
export * from "./generated/prisma/client.js";
export { checkDatabase, DatabaseConnectError, redactUrl } from "./errors.js";
export { migrateDatabase, repoRoot } from "./migrate.js";
export { startEmbeddedPostgres, type EmbeddedPostgresHandle, type EmbeddedPostgresOptions } from "./embedded.js";
