import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkDatabase, createDb, DatabaseConnectError } from "./index.js";
import { migrateDatabase, startEmbeddedPostgres } from "./admin.js";
import { createTestDatabase, type TestDatabase } from "./testing.js";

describe("a migrated test database", () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase("db");
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  it("has the schema and the client works", async () => {
    const db = createDb(tdb.url);
    try {
      const u = await db.user.create({ data: { name: "alice" } });
      await db.roleBinding.create({ data: { userId: u.id, role: "editor", namespace: "shop" } });
      const found = await db.user.findUnique({ where: { name: "alice" }, include: { roleBindings: true } });
      expect(found?.roleBindings.map((b) => [b.role, b.namespace])).toEqual([["editor", "shop"]]);
    } finally {
      await db.$disconnect();
    }
  });

  it("keeps the audit log append-only, even against raw SQL", async () => {
    const db = createDb(tdb.url);
    try {
      const e = await db.auditEvent.create({
        data: { actorKind: "system", actorName: "test", via: "system", action: "test.append" },
      });
      await expect(
        db.auditEvent.update({ where: { id: e.id }, data: { action: "tampered" } }),
      ).rejects.toThrow(/append-only/);
      await expect(db.auditEvent.delete({ where: { id: e.id } })).rejects.toThrow(/append-only/);
      await expect(db.$executeRawUnsafe(`TRUNCATE "AuditEvent"`)).rejects.toThrow(/append-only/);
      expect(await db.auditEvent.count()).toBe(1);
    } finally {
      await db.$disconnect();
    }
  });

  it("re-running migrations is a no-op", async () => {
    await expect(migrateDatabase(tdb.url)).resolves.toBeUndefined();
  });
});

describe("checkDatabase", () => {
  it("explains an unreachable server in one line, without the password", async () => {
    const err = await checkDatabase("postgresql://u:s3cret@127.0.0.1:1/x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseConnectError);
    expect((err as Error).message).toMatch(
      /^cannot reach PostgreSQL at postgresql:\/\/u:\*\*\*@127\.0\.0\.1:1\/x: connection refused/,
    );
    expect((err as Error).message).not.toContain("s3cret");
    expect((err as Error).message).not.toContain("\n");
  });
  it("rejects a URL that is not PostgreSQL", async () => {
    await expect(checkDatabase("mysql://localhost/x")).rejects.toThrow(/not a PostgreSQL URL/);
  });
});

describe("embedded PostgreSQL", () => {
  const home = mkdtempSync(join(tmpdir(), "trellis-embedded-"));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it("initialises once, keeps data across a restart, and refuses a second instance", async () => {
    const port = 21000 + Math.floor(Math.random() * 9000);
    const first = await startEmbeddedPostgres({ home, port });
    expect(first.initialised).toBe(true);
    expect(statSync(join(home, "postgres.password")).mode & 0o777).toBe(0o600);
    await expect(startEmbeddedPostgres({ home, port: port + 1 })).rejects.toThrow(/already running/);
    await migrateDatabase(first.url);
    let db = createDb(first.url);
    await db.user.create({ data: { name: "persisted" } });
    await db.$disconnect();
    await first.stop();

    const second = await startEmbeddedPostgres({ home, port });
    try {
      expect(second.initialised).toBe(false);
      db = createDb(second.url);
      expect(await db.user.findUnique({ where: { name: "persisted" } })).not.toBeNull();
      await db.$disconnect();
    } finally {
      await second.stop();
    }
  });
});
