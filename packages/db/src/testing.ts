// Test databases: every test run gets a database of its own, migrated from prisma/migrations.
// With DATABASE_URL set, it is created on that server (and dropped afterwards); without it, an embedded
// PostgreSQL is started in a temporary directory for the run.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { startEmbeddedPostgres } from "./embedded.js";
import { migrateDatabase } from "./migrate.js";

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(label = "test"): Promise<TestDatabase> {
  const name = `trellis_${label.replace(/[^a-z0-9_]/gi, "_").toLowerCase()}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  const base = process.env.DATABASE_URL;
  if (base) {
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const u = new URL(base);
    u.pathname = `/${name}`;
    const url = u.toString();
    await migrateDatabase(url);
    return {
      url,
      async drop() {
        const c = new pg.Client({ connectionString: base });
        await c.connect();
        try {
          await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        } finally {
          await c.end();
        }
      },
    };
  }
  const home = mkdtempSync(join(tmpdir(), "trellis-testdb-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const embedded = await startEmbeddedPostgres({ home, port, database: name });
  await migrateDatabase(embedded.url);
  return {
    url: embedded.url,
    async drop() {
      await embedded.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
