import "server-only";
import { createDb, type Db } from "@trellis/db";
import { env } from "./env";

// One client (and pool) per server process, kept across hot reloads in development.
const g = globalThis as unknown as { trellisDb?: Db };

export function db(): Db {
  g.trellisDb ??= createDb(env().DATABASE_URL);
  return g.trellisDb;
}
