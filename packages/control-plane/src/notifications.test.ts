// The registry announcer against a real PostgreSQL: joins and leaves close together are one notification.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { NOTIFY_CHANNELS } from "@trellis/contracts";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { registryAnnouncer } from "./notifications.js";

let tdb: TestDatabase;
let db: Db;
let listener: pg.Client;
const heard: string[] = [];

beforeAll(async () => {
  // Its own database: NOTIFY is per database, so other files' replicas are not heard here.
  tdb = await createTestDatabase("notifications");
  db = createDb(tdb.url);
  listener = new pg.Client({ connectionString: tdb.url });
  await listener.connect();
  listener.on("notification", (n) => heard.push(n.payload ?? ""));
  await listener.query(`LISTEN "${NOTIFY_CHANNELS.registryChanged}"`);
});
afterAll(async () => {
  await listener?.end();
  await db?.$disconnect();
  await tdb?.drop();
});

describe("registry announcer", () => {
  it("sends one notification for the joins of one window, and another for a join after it", async () => {
    const announce = registryAnnouncer(db, "replica-x", () => {}, 200);
    const first = Array.from({ length: 50 }, () => announce());
    // Every caller of one window waits for the same notification.
    expect(new Set(first).size).toBe(1);
    await Promise.all(first);
    await expect.poll(() => heard.length).toBe(1);
    await announce();
    await expect.poll(() => heard.length).toBe(2);
    // Nothing else comes: 51 announcements, 2 notifications.
    await new Promise((r) => setTimeout(r, 300));
    expect(heard).toEqual(["replica-x", "replica-x"]);
  });
});
