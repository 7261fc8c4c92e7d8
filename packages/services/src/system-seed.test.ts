// Seeding resources as an applied system change, against a real PostgreSQL (a database of this file's own):
// only the system may do it, it writes what an approved change writes (revisions, generation, audit, NOTIFY),
// and a second call leaves what exists alone.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NOTIFY_CHANNELS } from "@trellis/contracts";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { actorForUser, AppError, bootstrap, SYSTEM_ACTOR } from "./index.js";
import { seedResourcesAsSystemChange, type SystemSeedInput } from "./system-seed.js";

let tdb: TestDatabase;
let db: Db;

const mesh = {
  apiVersion: "trellis.dev/v1alpha1",
  kind: "MeshSettings",
  metadata: { name: "mesh", namespace: "trellis-system" },
  spec: { mtls: { mode: "strict" } },
};
const route = {
  apiVersion: "trellis.dev/v1alpha1",
  kind: "Route",
  metadata: { name: "reviews", namespace: "demo" },
  spec: { service: "reviews", rules: [{ backends: [{ version: "v1" }] }] },
};
const seed: SystemSeedInput = {
  title: "demo mesh: initial state",
  reason: "initial state of the demo",
  resources: [mesh, route],
};

beforeAll(async () => {
  tdb = await createTestDatabase("seed");
  db = createDb(tdb.url);
  await bootstrap(db, { adminPassword: "a-long-enough-password" });
});

afterAll(async () => {
  await db?.$disconnect();
  await tdb?.drop();
});

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: unknown) => (e instanceof AppError ? e.code : `unexpected: ${String(e)}`),
  );

describe("seedResourcesAsSystemChange", () => {
  it("refuses every actor but the system, even a mesh-wide admin", async () => {
    const admin = await db.user.findUniqueOrThrow({ where: { name: "admin" } });
    const actor = await actorForUser(db, admin.id, { via: "api" });
    expect(await codeOf(seedResourcesAsSystemChange(db, actor, seed))).toBe("FORBIDDEN");
    expect(await db.resource.count()).toBe(0);
  });

  it("rejects an invalid resource with its path, writing nothing", async () => {
    const bad = {
      ...route,
      spec: { service: "reviews", rules: [{ backends: [{ version: "v1", weight: 101 }] }] },
    };
    const e = await seedResourcesAsSystemChange(db, SYSTEM_ACTOR, { ...seed, resources: [mesh, bad] }).catch(
      (x: unknown) => x as AppError,
    );
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe("CHANGE_INVALID");
    expect((e as AppError).issues?.[0]?.path).toMatch(
      /^resources\[1\]\.spec\.rules\[0\]\.backends\[0\]\.weight/,
    );
    expect(await db.changeRequest.count()).toBe(0);
  });

  it("applies the resources as one system change: revisions, a generation, audit and a NOTIFY", async () => {
    const listener = new pg.Client({ connectionString: tdb.url });
    await listener.connect();
    const got: string[] = [];
    listener.on("notification", (n) => got.push(n.payload ?? ""));
    await listener.query(`LISTEN ${NOTIFY_CHANNELS.configChanged}`);
    try {
      const r = await seedResourcesAsSystemChange(db, SYSTEM_ACTOR, seed);
      expect(r.created).toEqual(["MeshSettings/trellis-system/mesh", "Route/demo/reviews"]);
      expect(r.existing).toEqual([]);
      const change = await db.changeRequest.findUniqueOrThrow({
        where: { number: r.change! },
        include: { author: true, generations: true, revisions: true },
      });
      expect(change).toMatchObject({
        status: "applied",
        source: "system",
        fastTrackReason: "initial state of the demo",
      });
      expect(change.author.name).toBe("admin");
      expect(change.generations.map((g) => g.number)).toEqual([r.generation]);
      expect(change.revisions.map((v) => `${v.kind}/${v.namespace}/${v.name}@${v.revision}`).sort()).toEqual([
        "MeshSettings/trellis-system/mesh@1",
        "Route/demo/reviews@1",
      ]);
      const resource = await db.resource.findUniqueOrThrow({
        where: { kind_namespace_name: { kind: "Route", namespace: "demo", name: "reviews" } },
      });
      expect(resource.spec).toEqual(route.spec);
      const events = await db.auditEvent.findMany({
        where: { targetId: change.id },
        orderBy: { id: "asc" },
      });
      // One entry per namespace the change touches, so each namespace's admins find it.
      expect(events.map((e) => [e.action, e.namespace, e.actorKind, e.actorName])).toEqual([
        ["change.create", "demo", "system", "system"],
        ["change.create", "trellis-system", "system", "system"],
        ["change.fastTrack", "demo", "system", "system"],
        ["change.fastTrack", "trellis-system", "system", "system"],
        ["change.apply", "demo", "system", "system"],
        ["change.apply", "trellis-system", "system", "system"],
      ]);
      await expect.poll(() => got).toEqual([JSON.stringify({ generation: r.generation })]);
    } finally {
      await listener.end();
    }
  });

  it("writes nothing the second time, and keeps what a person changed since", async () => {
    await db.resource.update({
      where: { kind_namespace_name: { kind: "Route", namespace: "demo", name: "reviews" } },
      data: { spec: { service: "reviews", rules: [{ backends: [{ version: "v2" }] }] }, revision: 2 },
    });
    const changes = await db.changeRequest.count();
    const r = await seedResourcesAsSystemChange(db, SYSTEM_ACTOR, seed);
    expect(r).toEqual({
      change: null,
      generation: null,
      created: [],
      existing: ["MeshSettings/trellis-system/mesh", "Route/demo/reviews"],
    });
    expect(await db.changeRequest.count()).toBe(changes);
    const resource = await db.resource.findUniqueOrThrow({
      where: { kind_namespace_name: { kind: "Route", namespace: "demo", name: "reviews" } },
    });
    expect(resource.revision).toBe(2);
  });
});
