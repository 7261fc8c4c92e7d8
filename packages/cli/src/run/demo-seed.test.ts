// The demo's seed against a real PostgreSQL: the initial state once, and a join token per run, with the
// earlier runs' tokens revoked for `trellis up --demo` (whose sidecars all hold the new one).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { seedDemo } from "./demo-seed.js";

let tdb: TestDatabase;
let db: Db;

beforeAll(async () => {
  tdb = await createTestDatabase("demo_seed");
  db = createDb(tdb.url);
  // What the first start bootstraps: a mesh-wide admin (system changes need one to exist) and, by the control
  // plane, the mesh CA (only its fingerprint matters to a join token).
  await db.user.create({
    data: { name: "admin", roleBindings: { create: { role: "admin", namespace: "*" } } },
  });
  await db.certificateAuthority.create({
    data: {
      trustDomain: "trellis.local",
      certPem: "pem",
      encryptedKey: new Uint8Array([1]),
      fingerprint: "F".repeat(43),
      notBefore: new Date(),
      notAfter: new Date(Date.now() + 1e9),
    },
  });
}, 120_000);
afterAll(async () => {
  await db?.$disconnect();
  await tdb?.drop();
});

const valid = (name: string) => db.joinToken.count({ where: { namespace: "demo", name, revokedAt: null } });

describe("seedDemo", () => {
  it("seeds the initial state once and, for trellis up --demo, leaves only the newest token valid", async () => {
    const first = await seedDemo(db, "trellis up --demo", { revokeEarlierTokens: true });
    expect(first.seeded).toMatch(/^seeded .*Route\/demo\/reviews as change #1/);
    const second = await seedDemo(db, "trellis up --demo", { revokeEarlierTokens: true });
    expect(second.seeded).toBeNull();
    expect(second.token).not.toBe(first.token);
    expect(await valid("trellis up --demo")).toBe(1);
    const revoked = await db.auditEvent.count({ where: { action: "joinToken.revoke" } });
    expect(revoked).toBe(1);
  });

  it("leaves earlier tokens alone when asked to (demo seed: running sidecars may hold them)", async () => {
    await seedDemo(db, "trellis demo seed");
    await seedDemo(db, "trellis demo seed");
    expect(await valid("trellis demo seed")).toBe(2);
    // And never touches tokens of another origin.
    expect(await valid("trellis up --demo")).toBe(1);
  });
});
