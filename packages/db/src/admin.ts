// Operating the database: the embedded PostgreSQL and migrations. For the CLI and tests, not the console.
export { migrateDatabase, repoRoot } from "./migrate.js";
export {
  startEmbeddedPostgres,
  type EmbeddedPostgresHandle,
  type EmbeddedPostgresOptions,
} from "./embedded.js";
