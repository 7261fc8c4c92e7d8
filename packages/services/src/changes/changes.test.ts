// Change requests against a real PostgreSQL (a database of this file's own, so the rules are tested on a
// known state): roles, self-approval, required approvals, staleness, rebase, rollback, audit, NOTIFY,
// rollout and impact.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { NOTIFY_CHANNELS, type ChangeCreateInput, type Role } from "@trellis/contracts";
import {
  actorForUser,
  AppError,
  approveChange,
  cancelChange,
  createChange,
  getChange,
  getChangeImpact,
  getChangeRollout,
  getResource,
  listChanges,
  listResources,
  previewChange,
  rebaseChange,
  rejectChange,
  resourceHistory,
  rollbackChange,
  type Actor,
} from "../index.js";
import { rollupRow } from "../testing.js";

let tdb: TestDatabase;
let db: Db;
const actors: Record<string, Actor> = {};

const code = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: unknown) => (e instanceof AppError ? e.code : `unexpected: ${String(e)}`),
  );
const issuesOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return { code: e.code, issues: e.issues ?? [] };
    throw e;
  }
  throw new Error("expected an error");
};

const route = (
  name: string,
  backends: { version: string; weight?: number }[],
  ns = "shop",
  service = "reviews",
) => ({
  apiVersion: "trellis.dev/v1alpha1",
  kind: "Route",
  metadata: { name, namespace: ns },
  spec: { service, rules: [{ backends }] },
});
const access = (name: string, spec: Record<string, unknown>, ns = "shop") => ({
  apiVersion: "trellis.dev/v1alpha1",
  kind: "AccessPolicy",
  metadata: { name, namespace: ns },
  spec,
});
const create = (resource: unknown, title = "t"): ChangeCreateInput => ({
  title,
  operations: [{ action: "create", resource: resource as Record<string, unknown> }],
});

let uniq = 0;
/** An AccessPolicy change nobody else touches (AccessPolicies of one service may coexist). */
const freshAccess = () =>
  create(
    access(`ap-${++uniq}`, { service: "ratings", allow: [{ from: [{ service: "frontend" }] }] }),
    `ap ${uniq}`,
  );

async function user(name: string, bindings: { role: Role; namespace: string }[]): Promise<Actor> {
  const u = await db.user.create({ data: { name, roleBindings: { create: bindings } } });
  return actorForUser(db, u.id, { via: "api", ip: "10.9.8.7", userAgent: "test" });
}

beforeAll(async () => {
  tdb = await createTestDatabase("changes");
  db = createDb(tdb.url);
  actors.viewer = await user("vera", [{ role: "viewer", namespace: "shop" }]);
  actors.editor = await user("eddie", [{ role: "editor", namespace: "shop" }]);
  actors.editor2 = await user("edna", [{ role: "editor", namespace: "shop" }]);
  actors.approver = await user("april", [{ role: "approver", namespace: "shop" }]);
  actors.approver2 = await user("arthur", [{ role: "approver", namespace: "shop" }]);
  actors.admin = await user("ada", [{ role: "admin", namespace: "*" }]);
  actors.billing = await user("bill", [{ role: "approver", namespace: "billing" }]);
  actors.none = await user("nobody", []);

  // Registry: reviews v1 ×2 and v2 ×1, frontend and ratings v1.
  for (const [name, versions] of [
    ["reviews", ["v1", "v1", "v2"]],
    ["frontend", ["v1"]],
    ["ratings", ["v1"]],
  ] as const) {
    const s = await db.service.create({ data: { namespace: "shop", name } });
    let n = 0;
    for (const version of versions) {
      await db.workload.create({
        data: {
          serviceId: s.id,
          version,
          address: `10.0.0.${++n}:15006`,
          identity: `spiffe://t/ns/shop/sa/${name}`,
        },
      });
    }
  }
  // The last hour: frontend → ratings 72,000 requests (1,200/min), frontend → reviews v1 36,000 (10 req/s),
  // each reported by both sides (the larger count must be taken, not the sum).
  const minute = 60_000;
  const base = Math.floor(Date.now() / minute) * minute;
  const rows = [];
  // Minutes 60 ago through the current one: the preview reads the 60 complete minutes before its own now,
  // which is one minute later than this seed's if a minute boundary passes between the two.
  for (let i = 0; i <= 60; i++) {
    for (const reporter of ["inbound", "outbound"] as const) {
      rows.push(rollup(new Date(base - i * minute), reporter, "ratings", "v1", 1_200));
      rows.push(rollup(new Date(base - i * minute), reporter, "reviews", "v1", 600));
    }
  }
  rows.push(rollup(new Date(base - 3 * 3_600_000), "inbound", "ratings", "v1", 999_999)); // outside the window
  // A TCP service: frontend → mysql, 60 connections/min.
  const mysql = await db.service.create({ data: { namespace: "shop", name: "mysql", protocol: "tcp" } });
  await db.workload.create({
    data: {
      serviceId: mysql.id,
      version: "v1",
      address: "10.0.9.1:15006",
      identity: "spiffe://t/ns/shop/sa/mysql",
    },
  });
  for (let i = 0; i <= 60; i++) {
    for (const reporter of ["inbound", "outbound"] as const)
      rows.push({
        ...rollup(new Date(base - i * minute), reporter, "mysql", "v1", 60),
        statusCode: 0,
        protocol: "tcp",
      });
  }
  await db.telemetryRollup.createMany({ data: rows });
});
afterAll(async () => {
  await db?.$disconnect();
  await tdb?.drop();
});

/** `requests` calls frontend → `destService` `destVersion` in the minute `bucket`, as `reporter` saw them. */
function rollup(
  bucket: Date,
  reporter: "inbound" | "outbound",
  destService: string,
  destVersion: string,
  requests: number,
) {
  return rollupRow({
    bucket,
    reporter,
    source: ["shop", "frontend"],
    destination: ["shop", destService, destVersion],
    requests,
    latencyMs: 5,
  });
}

describe("create", () => {
  it("opens a change with before/after, warnings and an audit row; nothing is applied yet", async () => {
    const c = await createChange(db, actors.editor!, {
      title: "canary",
      description: "10% to v2",
      operations: [
        {
          action: "create",
          resource: route("reviews", [
            { version: "v1", weight: 90 },
            { version: "v2", weight: 10 },
          ]),
        },
      ],
    });
    expect(c).toMatchObject({
      status: "open",
      author: "eddie",
      source: "api",
      requiredApprovals: 1,
      namespaces: ["shop"],
    });
    expect(c.operations[0]).toMatchObject({
      action: "create",
      before: null,
      baseRevision: null,
      currentRevision: null,
      stale: false,
    });
    expect(c.operations[0]!.after).toEqual({
      service: "reviews",
      rules: [
        {
          backends: [
            { version: "v1", weight: 90 },
            { version: "v2", weight: 10 },
          ],
        },
      ],
    });
    expect(c.validation.valid).toBe(true);
    expect(c.rollout.state).toBe("not_applied");
    expect(await db.resource.count()).toBe(0);
    const ev = await db.auditEvent.findFirstOrThrow({ where: { action: "change.create", targetId: c.id } });
    expect(ev).toMatchObject({ actorName: "eddie", via: "api", ip: "10.9.8.7", namespace: "shop" });
    await cancelChange(db, actors.editor!, { id: c.id });
  });

  it("blocks invalid specs with path-level errors and writes nothing", async () => {
    const before = await db.changeRequest.count();
    const r = await issuesOf(
      createChange(
        db,
        actors.editor!,
        create(
          route("bad", [
            { version: "v1", weight: 90 },
            { version: "v2", weight: 20 },
          ]),
        ),
      ),
    );
    expect(r.code).toBe("CHANGE_INVALID");
    expect(r.issues).toContainEqual({
      path: "operations[0].resource.spec.rules[0].backends",
      at: { doc: 0, path: ["spec", "rules", 0, "backends"] },
      message: "weights must sum to 100 (got 110)",
    });
    // A registry check: a version without workloads.
    const r2 = await issuesOf(createChange(db, actors.editor!, create(route("bad2", [{ version: "v9" }]))));
    expect(r2.issues).toContainEqual({
      path: "operations[0].resource.spec.rules[0].backends[0].version",
      at: { doc: 0, path: ["spec", "rules", 0, "backends", 0, "version"] },
      message: "service reviews has no workloads of version v9",
    });
    const r3 = await issuesOf(
      createChange(db, actors.editor!, {
        title: "x",
        operations: [{ action: "create", resource: { kind: "Nope" } }],
      }),
    );
    expect(r3.issues.map((i) => i.path)).toEqual([
      "operations[0].resource.apiVersion",
      "operations[0].resource.kind",
    ]);
    expect(await db.changeRequest.count()).toBe(before);
  });

  it("accepts YAML with several documents and reports bad ones by document index", async () => {
    const yaml = `apiVersion: trellis.dev/v1alpha1
kind: AccessPolicy
metadata: { name: yaml-a, namespace: shop }
spec: { service: ratings, allow: [{ from: [{ service: frontend }] }] }
---
---
apiVersion: trellis.dev/v1alpha1
kind: DestinationPolicy
metadata: { name: yaml-b, namespace: shop }
spec: { service: ratings, loadBalancer: { type: leastRequest } }
`;
    const c = await createChange(db, actors.editor!, { title: "from a file", yaml });
    expect(c.operations.map((o) => `${o.action} ${o.kind}/${o.name}`)).toEqual([
      "create AccessPolicy/yaml-a",
      "create DestinationPolicy/yaml-b",
    ]);
    await cancelChange(db, actors.editor!, { id: c.id });

    const bad = await issuesOf(
      createChange(db, actors.editor!, {
        title: "x",
        yaml: yaml.replace("service: ratings, loadBalancer", "service: Ratings!, loadBalancer"),
      }),
    );
    expect(bad.code).toBe("CHANGE_INVALID");
    expect(bad.issues.map((i) => i.path)).toEqual(["[2].spec.service"]);
    expect(bad.issues.map((i) => i.at)).toEqual([{ doc: 2, path: ["spec", "service"] }]);
    const syntax = await issuesOf(
      createChange(db, actors.editor!, { title: "x", yaml: "kind: Route\nmetadata: [unclosed\n" }),
    );
    expect(syntax.code).toBe("CHANGE_INVALID");
    expect(syntax.issues[0]!.path).toBe("[0]");
    expect(syntax.issues[0]!.at).toEqual({ doc: 0, path: [] });
    expect(syntax.issues[0]!.message).toMatch(/^YAML: line \d+, column \d+/);
  });

  it("places semantic issues of YAML in their document, counting empty ones, and per operation relative to it", async () => {
    // Document 0 is empty (between the two `---`): the Route, the change's only operation, is document 1.
    const p = await previewChange(db, actors.editor!, {
      yaml: `---\n---\napiVersion: trellis.dev/v1alpha1
kind: Route
metadata: { name: yaml-weights, namespace: shop }
spec: { service: reviews, rules: [{ backends: [{ version: v1, weight: 90 }, { version: v2, weight: 20 }] }] }
`,
    });
    const weights = {
      path: "[1].spec.rules[0].backends",
      at: { doc: 1, path: ["spec", "rules", 0, "backends"] },
      message: "weights must sum to 100 (got 110)",
    };
    expect(p.validation.errors).toContainEqual(weights);
    expect(p.operations[0]!.errors).toContainEqual({
      path: "spec.rules[0].backends",
      at: { path: ["spec", "rules", 0, "backends"] },
      message: weights.message,
    });
  });

  it("refuses a base revision that is not the one in force", async () => {
    const r = await issuesOf(
      createChange(db, actors.editor!, {
        title: "x",
        operations: [{ action: "update", resource: route("ghost", [{ version: "v1" }]), baseRevision: 3 }],
      }),
    );
    expect(r.code).toBe("CHANGE_STALE");
    expect(r.issues).toEqual([
      {
        path: "operations[0]",
        at: { doc: 0, path: [] },
        message: "Route/shop/ghost was deleted after revision 3",
      },
    ]);
  });
});

describe("approval", () => {
  it("never lets the author approve, even an author who is an approver", async () => {
    const c = await createChange(db, actors.editor!, freshAccess());
    expect(await code(approveChange(db, actors.editor!, { id: c.id }))).toBe("CHANGE_SELF_APPROVAL");
    const own = await createChange(db, actors.approver!, freshAccess());
    expect(await code(approveChange(db, actors.approver!, { id: own.id }))).toBe("CHANGE_SELF_APPROVAL");
    expect(await code(rejectChange(db, actors.approver!, { id: own.id }))).toBe("CHANGE_SELF_APPROVAL");
    expect((await getChange(db, actors.viewer!, { id: own.id })).status).toBe("open");
  });

  it("applies on the approval that reaches the namespace's required count, one approval per person", async () => {
    await db.namespaceSetting.create({ data: { namespace: "shop", requiredApprovals: 2 } });
    try {
      const c = await createChange(db, actors.editor!, freshAccess());
      expect(c.requiredApprovals).toBe(2);
      const once = await approveChange(db, actors.approver!, { id: c.id, comment: "looks right" });
      expect(once).toMatchObject({ status: "open", approvalCount: 1 });
      expect(await code(approveChange(db, actors.approver!, { id: c.id }))).toBe("CONFLICT");
      const twice = await approveChange(db, actors.approver2!, { id: String(c.number) });
      expect(twice).toMatchObject({ status: "applied", approvalCount: 2 });
      expect(twice.approvals.map((a) => [a.user, a.comment])).toEqual([
        ["april", "looks right"],
        ["arthur", ""],
      ]);
      expect(twice.rollout.generation).toBeGreaterThan(0);
      expect(await code(approveChange(db, actors.admin!, { id: c.id }))).toBe("CHANGE_NOT_OPEN");
    } finally {
      await db.namespaceSetting.delete({ where: { namespace: "shop" } });
    }
  });

  it("applies exactly once when the last two approvals arrive at the same time", async () => {
    await db.namespaceSetting.create({ data: { namespace: "shop", requiredApprovals: 2 } });
    try {
      const c = await createChange(db, actors.editor!, freshAccess());
      const results = await Promise.allSettled([
        approveChange(db, actors.approver!, { id: c.id }),
        approveChange(db, actors.approver2!, { id: c.id }),
      ]);
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
      expect((await getChange(db, actors.viewer!, { id: c.id })).status).toBe("applied");
      expect(await db.configGeneration.count({ where: { changeRequestId: c.id } })).toBe(1);
      expect(await db.resourceRevision.count({ where: { changeRequestId: c.id } })).toBe(1);
    } finally {
      await db.namespaceSetting.delete({ where: { namespace: "shop" } });
    }
  });

  it("rejects with a comment, which ends the change", async () => {
    const c = await createChange(db, actors.editor!, freshAccess());
    const r = await rejectChange(db, actors.approver!, { id: c.id, comment: "not now" });
    expect(r.status).toBe("rejected");
    expect(r.approvals).toMatchObject([{ user: "april", decision: "reject", comment: "not now" }]);
    expect(await code(approveChange(db, actors.approver2!, { id: c.id }))).toBe("CHANGE_NOT_OPEN");
    expect(await db.auditEvent.count({ where: { action: "change.reject", targetId: c.id } })).toBe(1);
  });
});

describe("apply", () => {
  it("writes resource + revision + generation in one go and NOTIFYs the control plane's channel after commit", async () => {
    const listener = new pg.Client({ connectionString: tdb.url });
    await listener.connect();
    const got: string[] = [];
    listener.on("notification", (n) => {
      if (n.channel === NOTIFY_CHANNELS.configChanged) got.push(n.payload ?? "");
    });
    await listener.query(`LISTEN ${NOTIFY_CHANNELS.configChanged}`);
    try {
      const c = await createChange(
        db,
        actors.editor!,
        create(
          route("reviews", [
            { version: "v1", weight: 90 },
            { version: "v2", weight: 10 },
          ]),
          "canary",
        ),
      );
      expect(got).toEqual([]);
      const applied = await approveChange(db, actors.approver!, { id: c.id });
      expect(applied.status).toBe("applied");
      const gen = await db.configGeneration.findFirstOrThrow({ where: { changeRequestId: c.id } });
      await waitFor(() => got.length > 0);
      expect(got).toEqual([JSON.stringify({ generation: gen.number })]);

      const res = await getResource(db, actors.viewer!, {
        kind: "Route",
        namespace: "shop",
        name: "reviews",
      });
      expect(res).toMatchObject({ revision: 1, currentRevision: 1 });
      const hist = await resourceHistory(db, actors.viewer!, {
        kind: "Route",
        namespace: "shop",
        name: "reviews",
      });
      expect(hist.items).toMatchObject([
        { revision: 1, change: { id: c.id, number: c.number }, author: "eddie" },
      ]);
      const actions = (
        await db.auditEvent.findMany({ where: { targetId: c.id }, orderBy: { id: "asc" } })
      ).map((e) => e.action);
      expect(actions).toEqual(["change.create", "change.approve", "change.apply"]);
    } finally {
      await listener.end();
    }
  });

  it("marks a change stale when its resource moved on, applies nothing, and applies after a rebase", async () => {
    const cur = await getResource(db, actors.viewer!, { kind: "Route", namespace: "shop", name: "reviews" });
    const upd = (weights: [number, number], title: string): ChangeCreateInput => ({
      title,
      operations: [
        {
          action: "update",
          resource: route("reviews", [
            { version: "v1", weight: weights[0] },
            { version: "v2", weight: weights[1] },
          ]),
          baseRevision: cur.revision,
        },
      ],
    });
    const a = await createChange(db, actors.editor!, upd([50, 50], "half"));
    const b = await createChange(db, actors.editor2!, upd([0, 100], "all v2"));
    await approveChange(db, actors.approver!, { id: a.id });
    // Applying a made b stale at once.
    const bNow = await getChange(db, actors.viewer!, { id: b.id });
    expect(bNow.status).toBe("stale");
    expect(bNow.operations[0]).toMatchObject({
      stale: true,
      baseRevision: cur.revision,
      currentRevision: cur.revision + 1,
    });
    const r = await issuesOf(approveChange(db, actors.approver2!, { id: b.id }));
    expect(r.code).toBe("CHANGE_STALE");
    const inForce = await getResource(db, actors.viewer!, {
      kind: "Route",
      namespace: "shop",
      name: "reviews",
    });
    expect(inForce.spec).toEqual(a.operations[0]!.after);

    // A write that did not go through a change request (another tool) is caught by the apply's own check.
    const c = await createChange(db, actors.editor!, {
      title: "again",
      operations: [
        {
          action: "update",
          resource: route("reviews", [
            { version: "v1", weight: 70 },
            { version: "v2", weight: 30 },
          ]),
          baseRevision: inForce.revision,
        },
      ],
    });
    await db.resource.update({
      where: { kind_namespace_name: { kind: "Route", namespace: "shop", name: "reviews" } },
      data: { revision: { increment: 1 } },
    });
    const r2 = await issuesOf(approveChange(db, actors.approver!, { id: c.id }));
    expect(r2.code).toBe("CHANGE_STALE");
    expect(r2.issues[0]!.message).toMatch(/moved on from revision \d+ to \d+/);
    expect((await getChange(db, actors.viewer!, { id: c.id })).status).toBe("stale");
    expect(await db.approval.count({ where: { changeRequestId: c.id } })).toBe(0);

    // Rebase: bases re-read, validated, open again; then it applies.
    const rebased = await rebaseChange(db, actors.editor2!, { id: b.id });
    expect(rebased).toMatchObject({ status: "open", approvalCount: 0 });
    expect(rebased.operations[0]!.baseRevision).toBe(inForce.revision + 1);
    expect(rebased.operations[0]!.before).toEqual(inForce.spec);
    const applied = await approveChange(db, actors.approver!, { id: b.id });
    expect(applied.status).toBe("applied");
    expect(
      (await getResource(db, actors.viewer!, { kind: "Route", namespace: "shop", name: "reviews" })).spec,
    ).toEqual(b.operations[0]!.after);
    expect(await db.auditEvent.count({ where: { action: "change.rebase", targetId: b.id } })).toBe(1);
  });
});

describe("rollback", () => {
  it("restores the revisions before the change, through approval, and marks the original rolled back", async () => {
    const before = await getResource(db, actors.viewer!, {
      kind: "Route",
      namespace: "shop",
      name: "reviews",
    });
    const c = await createChange(db, actors.editor!, {
      title: "all to v1",
      operations: [
        { action: "update", resource: route("reviews", [{ version: "v1" }]), baseRevision: before.revision },
      ],
    });
    await approveChange(db, actors.approver!, { id: c.id });
    const rb = await rollbackChange(db, actors.editor!, { id: c.id });
    expect(rb).toMatchObject({
      status: "open",
      rollbackOf: { id: c.id },
      title: `Roll back #${c.number}: all to v1`,
    });
    expect(rb.operations[0]).toMatchObject({
      action: "update",
      after: before.spec,
      baseRevision: before.revision + 1,
    });
    // The rollback's author may not approve it either.
    expect(await code(approveChange(db, actors.editor!, { id: rb.id }))).toBe("CHANGE_SELF_APPROVAL");
    const done = await approveChange(db, actors.approver!, { id: rb.id });
    expect(done.status).toBe("applied");
    const now = await getResource(db, actors.viewer!, { kind: "Route", namespace: "shop", name: "reviews" });
    expect(now).toMatchObject({ revision: before.revision + 2, spec: before.spec });
    expect((await getChange(db, actors.viewer!, { id: c.id })).status).toBe("rolled_back");
    expect(await code(rollbackChange(db, actors.editor!, { id: c.id }))).toBe("CHANGE_NOT_APPLIED");
  });

  it("undoes a create with a delete; admins may fast-track with a recorded reason", async () => {
    const c = await createChange(db, actors.editor!, freshAccess());
    await approveChange(db, actors.approver!, { id: c.id });
    const name = c.operations[0]!.name;
    expect(await code(rollbackChange(db, actors.approver!, { id: c.id, fastTrackReason: "outage" }))).toBe(
      "FORBIDDEN",
    );
    const rb = await rollbackChange(db, actors.admin!, { id: c.id, fastTrackReason: "cuts off checkout" });
    expect(rb).toMatchObject({ status: "applied", fastTrackReason: "cuts off checkout", approvalCount: 0 });
    expect(rb.operations[0]).toMatchObject({ action: "delete", after: null });
    expect(
      await code(getResource(db, actors.viewer!, { kind: "AccessPolicy", namespace: "shop", name })),
    ).toBe("NOT_FOUND");
    const hist = await resourceHistory(db, actors.viewer!, { kind: "AccessPolicy", namespace: "shop", name });
    expect(hist.items.map((h) => [h.revision, h.spec === null])).toEqual([
      [2, true],
      [1, false],
    ]);
    const ev = await db.auditEvent.findFirstOrThrow({
      where: { action: "change.fastTrack", targetId: rb.id },
    });
    expect(ev.details).toMatchObject({ reason: "cuts off checkout", rollbackOf: c.number });
    // Re-creating it continues the history.
    const again = await createChange(
      db,
      actors.editor!,
      create(access(name, { service: "ratings", deny: [{ from: [{ namespace: "billing" }] }] })),
    );
    await approveChange(db, actors.approver!, { id: again.id });
    expect(
      (await getResource(db, actors.viewer!, { kind: "AccessPolicy", namespace: "shop", name })).revision,
    ).toBe(3);
  });
});

describe("rollout and impact", () => {
  it("counts acked, nacked (with reasons) and pending proxies of the change's generation", async () => {
    const c = await createChange(db, actors.editor!, freshAccess());
    const applied = await approveChange(db, actors.approver!, { id: c.id });
    expect(applied.rollout).toMatchObject({ state: "waiting", total: 0 });
    const gen = await db.configGeneration.findFirstOrThrow({ where: { changeRequestId: c.id } });
    const ws = await db.workload.findMany({
      where: { service: { name: "reviews" } },
      orderBy: { address: "asc" },
    });
    await db.proxyConfigStatus.createMany({
      data: [
        { generationId: gen.id, workloadId: ws[0]!.id, version: "cfg1", state: "acked" },
        {
          generationId: gen.id,
          workloadId: ws[1]!.id,
          version: "cfg1",
          state: "nacked",
          reason: "bad regex",
        },
        { generationId: gen.id, workloadId: ws[2]!.id, version: "cfg1", state: "pending" },
      ],
    });
    const r = await getChangeRollout(db, actors.viewer!, { id: c.id });
    expect(r).toMatchObject({
      generation: gen.number,
      state: "failed",
      total: 3,
      acked: 1,
      nacked: 1,
      pending: 1,
    });
    expect(r.proxies.find((p) => p.state === "nacked")).toMatchObject({
      service: "reviews",
      reason: "bad regex",
      address: ws[1]!.address,
    });
    // A viewer of another namespace sees none of it: to them the change does not exist.
    expect(await code(getChangeRollout(db, actors.billing!, { id: c.id }))).toBe("NOT_FOUND");
  });

  it("says how many requests an AccessPolicy would have denied, and how a Route splits the traffic", async () => {
    const p = await previewChange(db, actors.editor!, {
      operations: [
        {
          action: "create",
          resource: access("deny-frontend", {
            service: "ratings",
            deny: [{ from: [{ service: "frontend" }] }],
          }),
        },
      ],
    });
    expect(p.impact.access).toEqual([
      expect.objectContaining({
        source: { namespace: "shop", service: "frontend" },
        before: "allowed",
        after: "denied",
        requestsPerMinute: 1200,
        summary: "would have denied 1,200 requests/min from shop/frontend to shop/ratings",
      }),
    ]);
    expect(p.impact.services).toEqual([
      { namespace: "shop", name: "ratings", registered: true, requestsPerSecond: 20 },
    ]);
    expect(p.impact.proxies.map((x) => `${x.service}:${x.role}`)).toEqual(["ratings:destination"]);
    expect(p.validation.warnings.map((w) => w.path)).toContain("operations[0].resource.spec");

    // A TCP service is judged by connection, as its sidecar enforces it: an allow rule with methods allows no
    // connection (over HTTP the same rule would have been "partial"), and the warning says so.
    const tcp = await previewChange(db, actors.editor!, {
      operations: [
        {
          action: "create",
          resource: access("mysql-get-only", {
            service: "mysql",
            allow: [{ from: [{ service: "frontend" }], methods: ["GET"] }],
          }),
        },
      ],
    });
    expect(tcp.impact.access).toEqual([
      expect.objectContaining({
        source: { namespace: "shop", service: "frontend" },
        before: "allowed",
        after: "denied",
        requestsPerMinute: 60,
        summary: "would have denied 60 connections/min from shop/frontend to shop/mysql",
      }),
    ]);
    expect(tcp.validation.warnings.map((w) => w.path)).toContain("operations[0].resource.spec.allow[0]");

    const cur = await getResource(db, actors.viewer!, { kind: "Route", namespace: "shop", name: "reviews" });
    const c = await createChange(db, actors.editor!, {
      title: "canary 10%",
      operations: [
        {
          action: "update",
          resource: route("reviews", [
            { version: "v1", weight: 90 },
            { version: "v2", weight: 10 },
          ]),
          baseRevision: cur.revision,
        },
      ],
    });
    const impact = await getChangeImpact(db, actors.viewer!, { id: String(c.number) });
    expect(impact.routes).toEqual([
      expect.objectContaining({
        service: "reviews",
        requestsPerSecond: 10,
        conditional: false,
        summary: "sends 90% of 10 req/s to shop/reviews v1, 10% of 10 req/s to shop/reviews v2",
      }),
    ]);
    expect(impact.routes[0]!.versions).toEqual([
      { version: "v1", observedShare: 1, newShare: 0.9, requestsPerSecond: 9 },
      { version: "v2", observedShare: 0, newShare: 0.1, requestsPerSecond: 1 },
    ]);
    expect(impact.proxies.map((x) => `${x.service}/${x.version}:${x.role}`).sort()).toEqual([
      "frontend/v1:caller",
      "reviews/v1:destination",
      "reviews/v1:destination",
      "reviews/v2:destination",
    ]);
    await cancelChange(db, actors.editor!, { id: c.id });
  });
});

describe("impact of traffic from other namespaces", () => {
  it("counts what this namespace's proxies saw, not another namespace's word about it", async () => {
    // Issue 15 finding 2: other/secsvc's proxy reported 50,000 503s/min to shop/inventory that never reached
    // it (no inbound report); partner/client's calls reached inventory, reported by both sides.
    const minute = 60_000;
    const base = Math.floor(Date.now() / minute) * minute;
    const row = (reporter: "inbound" | "outbound", ns: string, svc: string, requests: number, i: number) => ({
      ...rollup(new Date(base - i * minute), reporter, "inventory", "v1", requests),
      sourceNamespace: ns,
      sourceService: svc,
      statusCode: 503,
    });
    const rows = [];
    for (let i = 0; i <= 60; i++) {
      rows.push(row("outbound", "other", "secsvc", 50_000, i));
      rows.push(row("outbound", "partner", "client", 100, i), row("inbound", "partner", "client", 100, i));
    }
    await db.telemetryRollup.createMany({ data: rows });
    try {
      const p = await previewChange(db, actors.editor!, {
        operations: [
          {
            action: "create",
            resource: access("frontend-only", {
              service: "inventory",
              allow: [{ from: [{ service: "frontend" }] }],
            }),
          },
        ],
      });
      expect(
        p.impact.access.map((a) => [`${a.source.namespace}/${a.source.service}`, a.requestsPerMinute]),
      ).toEqual([["partner/client", 100]]);
      expect(JSON.stringify(p.validation.warnings)).not.toContain("secsvc");
    } finally {
      await db.telemetryRollup.deleteMany({ where: { sourceNamespace: { in: ["other", "partner"] } } });
    }
  });
});

describe("authorization", () => {
  type Who = "viewer" | "editor" | "approver" | "admin" | "billing" | "none";
  const roles: Who[] = ["viewer", "editor", "approver", "admin", "billing", "none"];
  const allowed = (who: Who, min: Role) =>
    ({ viewer: 0, editor: 1, approver: 2, admin: 3, billing: -1, none: -1 })[who] >=
    ["viewer", "editor", "approver", "admin"].indexOf(min);

  // Every procedure, as each role, on a change made by someone else (edna) in "shop".
  // `change`: to whoever cannot read the change (no viewer role in shop) it does not exist: NOT_FOUND.
  const procedures: {
    name: string;
    min: Role;
    change?: true;
    run: (a: Actor, id: string) => Promise<unknown>;
  }[] = [
    { name: "get", min: "viewer", change: true, run: (a, id) => getChange(db, a, { id }) },
    { name: "rollout", min: "viewer", change: true, run: (a, id) => getChangeRollout(db, a, { id }) },
    { name: "impact", min: "viewer", change: true, run: (a, id) => getChangeImpact(db, a, { id }) },
    { name: "preview", min: "viewer", run: (a) => previewChange(db, a, freshAccess()) },
    { name: "create", min: "editor", run: (a) => createChange(db, a, freshAccess()) },
    { name: "rebase", min: "editor", change: true, run: (a, id) => rebaseChange(db, a, { id }) },
    { name: "approve", min: "approver", change: true, run: (a, id) => approveChange(db, a, { id }) },
    { name: "reject", min: "approver", change: true, run: (a, id) => rejectChange(db, a, { id }) },
    { name: "resource.list", min: "viewer", run: (a) => listResources(db, a, { namespace: "shop" }) },
    {
      name: "resource.get",
      min: "viewer",
      run: (a) => getResource(db, a, { kind: "Route", namespace: "shop", name: "reviews" }),
    },
    {
      name: "resource.history",
      min: "viewer",
      run: (a) => resourceHistory(db, a, { kind: "Route", namespace: "shop", name: "reviews" }),
    },
  ];

  for (const p of procedures) {
    for (const who of roles) {
      const want = allowed(who, p.min)
        ? "ok"
        : p.change && !allowed(who, "viewer")
          ? "NOT_FOUND"
          : "FORBIDDEN";
      it(`${p.name} as ${who}: ${want}`, async () => {
        const c = await createChange(db, actors.editor2!, freshAccess());
        expect(await code(p.run(actors[who]!, c.id))).toBe(want);
      });
    }
  }

  it("cancel: only the author", async () => {
    for (const who of roles) {
      const c = await createChange(db, actors.editor2!, freshAccess());
      expect(await code(cancelChange(db, actors[who]!, { id: c.id }))).toBe(
        allowed(who, "viewer") ? "FORBIDDEN" : "NOT_FOUND",
      );
    }
    const c = await createChange(db, actors.editor2!, freshAccess());
    expect((await cancelChange(db, actors.editor2!, { id: c.id })).status).toBe("cancelled");
    expect(await code(cancelChange(db, actors.editor2!, { id: c.id }))).toBe("CHANGE_NOT_OPEN");
  });

  it("rollback: editors propose, only admins fast-track", async () => {
    for (const who of roles) {
      const c = await createChange(db, actors.editor2!, freshAccess());
      await approveChange(db, actors.approver!, { id: c.id });
      const denied = allowed(who, "viewer") ? "FORBIDDEN" : "NOT_FOUND";
      expect(await code(rollbackChange(db, actors[who]!, { id: c.id })), who).toBe(
        allowed(who, "editor") ? "ok" : denied,
      );
      const c2 = await createChange(db, actors.editor2!, freshAccess());
      await approveChange(db, actors.approver!, { id: c2.id });
      expect(
        await code(rollbackChange(db, actors[who]!, { id: c2.id, fastTrackReason: "on fire" })),
        who,
      ).toBe(allowed(who, "admin") ? "ok" : denied);
    }
  });

  it("lists only changes and resources in namespaces the actor may read", async () => {
    const shopChanges = await listChanges(db, actors.viewer!, {});
    expect(shopChanges.items.length).toBeGreaterThan(5);
    expect((await listChanges(db, actors.billing!, {})).items).toEqual([]);
    expect(await code(listChanges(db, actors.billing!, { namespace: "shop" }))).toBe("FORBIDDEN");
    expect(await code(listChanges(db, actors.none!, {}))).toBe("FORBIDDEN");
    expect((await listResources(db, actors.billing!, {})).items).toEqual([]);
    expect((await listResources(db, actors.viewer!, { kind: "Route" })).items.map((r) => r.name)).toEqual([
      "reviews",
    ]);
    const open = await listChanges(db, actors.admin!, { status: "applied", namespace: "shop", limit: 3 });
    expect(open.items).toHaveLength(3);
    expect(open.items.every((i) => i.status === "applied")).toBe(true);
    expect(open.items[0]!.number).toBeGreaterThan(open.items[1]!.number);
  });
});

async function waitFor(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}
