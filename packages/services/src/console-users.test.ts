// The two reads the console's frame and its single sign-on make (apps/web reaches the database only through
// services): who the signed-in user is, and which user a provider's email signs in as. A real PostgreSQL, a
// database of this file's own.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { consoleUser, userForSsoEmail } from "./index.js";

let tdb: TestDatabase;
let db: Db;
let alice: string;
let bob: string;

beforeAll(async () => {
  tdb = await createTestDatabase("services_console_users");
  db = createDb(tdb.url);
  alice = (await db.user.create({ data: { name: "alice", email: "alice@example.com" } })).id;
  bob = (await db.user.create({ data: { name: "bob", email: "bob@example.com", disabled: true } })).id;
}, 120_000);
afterAll(async () => {
  await db?.$disconnect();
  await tdb?.drop();
});

describe("consoleUser", () => {
  it("names an enabled user, and no one for a disabled or missing one", async () => {
    expect(await consoleUser(db, alice)).toEqual({ name: "alice" });
    expect(await consoleUser(db, bob)).toBeNull();
    expect(await consoleUser(db, "no-such-user")).toBeNull();
  });
});

describe("userForSsoEmail", () => {
  it("matches an enabled user by email only", async () => {
    expect(await userForSsoEmail(db, "alice@example.com")).toEqual({ id: alice, name: "alice" });
    expect(await userForSsoEmail(db, "bob@example.com")).toBeNull();
    expect(await userForSsoEmail(db, "carol@example.com")).toBeNull();
    expect(await userForSsoEmail(db, null)).toBeNull();
    expect(await userForSsoEmail(db, "")).toBeNull();
  });
});
