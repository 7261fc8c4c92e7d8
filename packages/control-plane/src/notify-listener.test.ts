// The notification listener alone, against a real PostgreSQL: it hears NOTIFY, and when its backend is
// killed it reports unhealthy, reconnects with backoff, tells its owner, and hears again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { startNotifyListener, type NotifyListener } from "./notify-listener.js";

// Its own channel: other test files share the server (NOTIFY is per database, but names cost nothing).
const CHANNEL = "trellis_listener_test";

let tdb: TestDatabase;
let admin: pg.Client;
beforeAll(async () => {
  tdb = await createTestDatabase("notify_listener");
  admin = new pg.Client({ connectionString: tdb.url });
  // The second test kills every connection to the database, this one's too.
  admin.on("error", () => {});
  await admin.connect();
});
afterAll(async () => {
  await admin?.end().catch(() => {});
  await tdb?.drop();
});

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("notify listener", () => {
  it("hears notifications, and after its connection is killed reconnects with backoff and hears again", async () => {
    const heard: string[] = [];
    const attempts: number[] = [];
    let restored = 0;
    const listener: NotifyListener = await startNotifyListener({
      databaseUrl: tdb.url,
      channels: [CHANNEL],
      onNotification: (n) => heard.push(n.payload ?? ""),
      onRestored: () => restored++,
      log: () => {},
      backoffMs: (attempt) => (attempts.push(attempt), 20),
    });
    try {
      expect(listener.healthy).toBe(true);
      await admin.query(`SELECT pg_notify($1, 'one')`, [CHANNEL]);
      await until(() => heard.length === 1);

      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      await until(() => restored === 1);
      expect(listener.healthy).toBe(true);
      expect(attempts).toEqual([0]);

      await admin.query(`SELECT pg_notify($1, 'two')`, [CHANNEL]);
      await until(() => heard.length === 2);
      expect(heard).toEqual(["one", "two"]);
    } finally {
      await listener.close();
    }
    expect(listener.healthy).toBe(false);
  });

  it("keeps backing off, longer each time, while the database refuses it, and stops when closed", async () => {
    const attempts: number[] = [];
    const listener = await startNotifyListener({
      databaseUrl: tdb.url,
      channels: [CHANNEL],
      onNotification: () => {},
      onRestored: () => {},
      log: () => {},
      backoffMs: (attempt) => (attempts.push(attempt), 20),
    });
    // Refuse new connections to this database (from another one: a database cannot refuse its own), then
    // kill the listener's.
    const name = new URL(tdb.url).pathname.slice(1);
    const server = new pg.Client({
      connectionString: Object.assign(new URL(tdb.url), { pathname: "/postgres" }).href,
    });
    await server.connect();
    await server.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
    try {
      await server.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [name]);
      await until(() => attempts.length >= 3);
      expect(listener.healthy).toBe(false);
      expect(attempts.slice(0, 3)).toEqual([0, 1, 2]);
    } finally {
      await server.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
      await server.end();
      await listener.close();
    }
    const after = attempts.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(attempts.length).toBe(after);
  });
});
