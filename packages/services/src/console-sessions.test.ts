// Console sessions against a real PostgreSQL (a database of this file's own), with the clock passed in: the
// lifetimes, and every change that must end a user's sessions. e2e/tests/sessions.spec.ts replays real cookies.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import {
  actorForUser,
  currentConsoleSession,
  endConsoleSession,
  grantRole,
  resetUserPassword,
  revokeRole,
  setUserDisabled,
  startConsoleSession,
  type Actor,
} from "./index.js";

const L = { absoluteMs: 12 * 3_600_000, idleMs: 30 * 60_000 };
const T0 = new Date("2026-12-07T08:00:00Z");
const at = (ms: number) => new Date(T0.getTime() + ms);

let tdb: TestDatabase;
let db: Db;
let root: Actor;

async function user(name: string): Promise<string> {
  const u = await db.user.create({
    data: { name, roleBindings: { create: [{ role: "viewer", namespace: "shop" }] } },
  });
  return u.id;
}

beforeAll(async () => {
  tdb = await createTestDatabase("services_sessions");
  db = createDb(tdb.url);
  const r = await db.user.create({
    data: { name: "root", roleBindings: { create: [{ role: "admin", namespace: "*" }] } },
  });
  root = await actorForUser(db, r.id, { via: "api" });
}, 120_000);
afterAll(async () => {
  await db?.$disconnect();
  await tdb?.drop();
});

describe("console session lifetimes", () => {
  it("ends after the idle lifetime without requests; each request renews it", async () => {
    const id = await user("idle");
    const { sid } = await startConsoleSession(db, id, L, {}, T0);
    expect((await currentConsoleSession(db, sid, L, at(29 * 60_000)))?.userId).toBe(id);
    // Renewed at 29 min: alive at 58 min, over 30 min after the last request.
    expect(await currentConsoleSession(db, sid, L, at(58 * 60_000))).not.toBeNull();
    expect(await currentConsoleSession(db, sid, L, at(88 * 60_000 + 1))).toBeNull();
    // And stays over: the row is gone.
    expect(await currentConsoleSession(db, sid, L, at(58 * 60_000))).toBeNull();
  });

  it("ends at the absolute lifetime however often it is used, and says so in endsAt", async () => {
    const id = await user("busy");
    const { sid, expiresAt } = await startConsoleSession(db, id, L, {}, T0);
    expect(expiresAt).toEqual(at(L.absoluteMs));
    let last = null;
    for (let t = 0; t < L.absoluteMs; t += 10 * 60_000) {
      last = await currentConsoleSession(db, sid, L, at(t));
      expect(last).not.toBeNull();
      expect(last!.endsAt.getTime()).toBeLessThanOrEqual(expiresAt.getTime());
    }
    expect(last!.endsAt).toEqual(expiresAt);
    expect(await currentConsoleSession(db, sid, L, at(L.absoluteMs))).toBeNull();
  });

  it("refuses ids it never issued, and anything that is not a string", async () => {
    for (const sid of ["", "nope", undefined, null, 42, {}])
      expect(await currentConsoleSession(db, sid, L, T0)).toBeNull();
  });
});

describe("what ends a user's sessions", () => {
  it("sign-out ends that session only, and is audited", async () => {
    const id = await user("leaver");
    const a = await startConsoleSession(db, id, L);
    const b = await startConsoleSession(db, id, L);
    expect(await endConsoleSession(db, a.sid, { via: "console" })).toBe(true);
    expect(await currentConsoleSession(db, a.sid, L)).toBeNull();
    expect(await currentConsoleSession(db, b.sid, L)).not.toBeNull();
    expect(await endConsoleSession(db, a.sid, { via: "console" })).toBe(false);
    expect(await db.auditEvent.count({ where: { action: "user.signOut", actorId: id } })).toBe(1);
  });

  it("disabling ends them all, and enabling again brings none back", async () => {
    const id = await user("paused");
    const { sid } = await startConsoleSession(db, id, L);
    await setUserDisabled(db, root, { name: "paused", disabled: true });
    await setUserDisabled(db, root, { name: "paused", disabled: false });
    expect(await currentConsoleSession(db, sid, L)).toBeNull();
    const ev = await db.auditEvent.findFirst({ where: { action: "user.disable", targetId: id } });
    expect(ev?.details).toMatchObject({ sessionsEnded: 1 });
  });

  it("a session of a user disabled behind the services' back (in the database) is refused", async () => {
    const id = await user("sneaky");
    const { sid } = await startConsoleSession(db, id, L);
    await db.user.update({ where: { id }, data: { disabled: true } });
    expect(await currentConsoleSession(db, sid, L)).toBeNull();
  });

  it("a password reset, a grant and a revoke each end them", async () => {
    const id = await user("changing");
    let s = await startConsoleSession(db, id, L);
    await resetUserPassword(db, root, { name: "changing" });
    expect(await currentConsoleSession(db, s.sid, L)).toBeNull();

    s = await startConsoleSession(db, id, L);
    await grantRole(db, root, { name: "changing", role: "editor", namespace: "shop" });
    expect(await currentConsoleSession(db, s.sid, L)).toBeNull();

    // Granting what the user has already changes nothing, and ends nothing.
    s = await startConsoleSession(db, id, L);
    await grantRole(db, root, { name: "changing", role: "editor", namespace: "shop" });
    expect(await currentConsoleSession(db, s.sid, L)).not.toBeNull();

    await revokeRole(db, root, { name: "changing", role: "editor", namespace: "shop" });
    expect(await currentConsoleSession(db, s.sid, L)).toBeNull();
  });

  it("keeps only a hash of the session id", async () => {
    const id = await user("hashed");
    const { sid } = await startConsoleSession(db, id, L);
    const rows = await db.consoleSession.findMany({ where: { userId: id } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).not.toBe(sid);
    expect(rows[0]!.id).not.toContain(sid);
  });
});
