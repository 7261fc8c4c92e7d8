// A change request, approved through @trellis/services, reaches real proxy streams: the apply's NOTIFY wakes
// the control plane, which compiles the new Route with the real compiler, pushes it, and records each
// proxy's answer for the change's generation, which is what the change's rollout shows.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { actorForUser, approveChange, createChange, getChangeRollout, type Actor } from "@trellis/services";
import { meshCompiler } from "./index.js";
import { startTestControlPlane, type TestControlPlane } from "../test/support.js";

let tdb: TestDatabase;
let db: Db;
let mesh: TestControlPlane;
let editor: Actor;
let approver: Actor;

beforeAll(async () => {
  tdb = await createTestDatabase("cp_changes");
  db = createDb(tdb.url);
  mesh = await startTestControlPlane(db, "shop", {
    databaseUrl: tdb.url,
    secret: "change-rollout-test-secret-0123456789",
    compile: meshCompiler(),
    heartbeatMs: 500,
    debounceMs: 20,
    registryIntervalMs: 100,
  });
  for (const [service, version, port, refuse] of [
    ["reviews", "v1", 17001, false],
    ["reviews", "v2", 17002, false],
    ["frontend", "v1", 17003, true],
  ] as const) {
    await mesh.join({
      node: { namespace: "shop", service, version, address: `127.0.0.1:${port}`, labels: {} },
      // The caller refuses configs that split traffic to v2, as a proxy refuses a config it cannot apply.
      ...(refuse
        ? {
            decide: (config: unknown) =>
              JSON.stringify(config).includes('"v2"') ? "cannot reach v2 (test)" : null,
          }
        : {}),
    });
  }
  for (const [name, role] of [
    ["eddie", "editor"],
    ["april", "approver"],
  ] as const) {
    const u = await db.user.create({ data: { name, roleBindings: { create: { role, namespace: "shop" } } } });
    const a = await actorForUser(db, u.id, { via: "api" });
    if (role === "editor") editor = a;
    else approver = a;
  }
});

afterAll(async () => {
  await mesh?.close();
  await db?.$disconnect();
  await tdb?.drop();
});

describe("a change request's rollout", () => {
  it("shows every proxy's answer to the change's generation: acked, and nacked with the reason", async () => {
    const c = await createChange(db, editor, {
      title: "canary",
      yaml: `apiVersion: trellis.dev/v1alpha1
kind: Route
metadata: { name: reviews, namespace: shop }
spec: { service: reviews, rules: [{ backends: [{ version: v1, weight: 90 }, { version: v2, weight: 10 }] }] }
`,
    });
    const applied = await approveChange(db, approver, { id: c.id });
    expect(applied.status).toBe("applied");
    await expect
      .poll(async () => {
        const r = await getChangeRollout(db, approver, { id: c.id });
        return { state: r.state, total: r.total, acked: r.acked, nacked: r.nacked, pending: r.pending };
      })
      .toEqual({ state: "failed", total: 3, acked: 2, nacked: 1, pending: 0 });
    const r = await getChangeRollout(db, approver, { id: c.id });
    expect(r.generation).toBe(applied.rollout.generation);
    expect(r.proxies.find((p) => p.state === "nacked")).toMatchObject({
      service: "frontend",
      version: "v1",
      address: "127.0.0.1:17003",
      reason: "cannot reach v2 (test)",
    });
  });
});
