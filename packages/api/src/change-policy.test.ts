// Change-request policy taken when it matters (issue 15): the approvals a change needs and which approvals
// count are decided when it is applied, not when it was opened; one user's approvals racing each other end
// in one approval and clean 409s; the audit log of a change spanning namespaces reaches each namespace's
// admins without showing them the other namespace's resources; and a change you cannot read is as absent
// as one that does not exist. Over real HTTP (REST with bearer tokens), against a real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "@trellis/contracts";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { actorForUser, createApiToken } from "@trellis/services";
import { callRest, serve, type TestServer } from "./testing.js";
import { handleRestRequest } from "./index.js";

let tdb: TestDatabase;
let db: Db;
let server: TestServer;
const tokens: Record<string, string> = {};

/** Calls the REST API over HTTP as `who`, with their bearer token. */
const call = (who: string, method: string, path: string, body?: unknown) =>
  callRest(server, tokens[who], method, path, body);

const route = (namespace: string, name: string) => ({
  apiVersion: "trellis.dev/v1alpha1",
  kind: "Route",
  metadata: { name, namespace },
  spec: { service: name, rules: [{ backends: [{ version: "v1" }] }] },
});

/** Opens a change creating Routes; returns its id. */
async function open(title: string, ...resources: ReturnType<typeof route>[]): Promise<string> {
  const r = await call("eddie", "POST", "/changes", {
    title,
    operations: resources.map((resource) => ({ action: "create", resource })),
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.id as string;
}

beforeAll(async () => {
  tdb = await createTestDatabase("api_change_policy");
  db = createDb(tdb.url);
  const users: [string, [Role, string][]][] = [
    [
      "eddie",
      [
        ["editor", "shop"],
        ["editor", "other"],
      ],
    ],
    [
      "april",
      [
        ["approver", "shop"],
        ["approver", "other"],
      ],
    ],
    [
      "alan",
      [
        ["approver", "shop"],
        ["approver", "other"],
      ],
    ],
    ["ann", [["approver", "shop"]]],
    ["ada", [["admin", "shop"]]],
    ["oscar", [["admin", "other"]]],
    ["olga", [["viewer", "other"]]],
    ["root", [["admin", "*"]]],
  ];
  for (const [name, bindings] of users) {
    const u = await db.user.create({
      data: { name, roleBindings: { create: bindings.map(([role, namespace]) => ({ role, namespace })) } },
    });
    const actor = await actorForUser(db, u.id, { via: "api" });
    tokens[name] = (await createApiToken(db, actor, { name: "rest" })).token;
  }
  server = await serve((req) => handleRestRequest(db, req));
});
afterAll(async () => {
  await server?.close();
  await db?.$disconnect();
  await tdb?.drop();
});

describe("approvals are judged when the change is applied", () => {
  it("needs the count in force at approval time, not the one the change was opened with", async () => {
    const id = await open("raised after opening", route("shop", "raised"));
    expect((await call("ada", "PUT", "/namespaces/shop/settings", { requiredApprovals: 2 })).status).toBe(
      200,
    );
    const first = await call("april", "POST", `/changes/${id}/approve`, {});
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: "open", approvalCount: 1, requiredApprovals: 2 });
    // What the console lists shows the same rule.
    const listed = (await call("eddie", "GET", "/changes?namespace=shop")).body.items as {
      id: string;
    }[];
    expect(listed.find((c) => c.id === id)).toMatchObject({ approvalCount: 1, requiredApprovals: 2 });
    const second = await call("alan", "POST", `/changes/${id}/approve`, {});
    expect(second.body).toMatchObject({ status: "applied", approvalCount: 2, requiredApprovals: 2 });
  });

  it("does not count the approval of someone who has lost the approver role since", async () => {
    const id = await open("approver demoted", route("shop", "demoted"));
    expect((await call("april", "POST", `/changes/${id}/approve`, {})).body).toMatchObject({
      status: "open",
      approvalCount: 1,
    });
    const revoke = await call("root", "DELETE", "/users/april/roles?role=approver&namespace=shop");
    expect(revoke.status).toBe(200);
    try {
      expect((await call("eddie", "GET", `/changes/${id}`)).body).toMatchObject({
        approvalCount: 0,
        requiredApprovals: 2,
      });
      const one = await call("alan", "POST", `/changes/${id}/approve`, {});
      expect(one.body).toMatchObject({ status: "open", approvalCount: 1 });
      const two = await call("ann", "POST", `/changes/${id}/approve`, {});
      // Applied by ann's approval: alan's and hers count, april's did not (a finished change lists all three).
      expect(two.body).toMatchObject({ status: "applied", requiredApprovals: 2 });
    } finally {
      await call("root", "POST", "/users/april/roles", { role: "approver", namespace: "shop" });
    }
  });

  it("does not count the approval of a user disabled since", async () => {
    const id = await open("approver disabled", route("shop", "disabled"));
    expect((await call("alan", "POST", `/changes/${id}/approve`, {})).body).toMatchObject({
      approvalCount: 1,
    });
    expect((await call("root", "POST", "/users/alan/disable", {})).status).toBe(200);
    try {
      expect((await call("eddie", "GET", `/changes/${id}`)).body).toMatchObject({ approvalCount: 0 });
      expect((await call("april", "POST", `/changes/${id}/approve`, {})).body).toMatchObject({
        status: "open",
        approvalCount: 1,
      });
    } finally {
      await call("root", "POST", "/users/alan/enable", {});
    }
  });

  it("applies on the next approval once enough count, after the count was lowered", async () => {
    const id = await open("lowered", route("shop", "lowered"));
    await call("ada", "PUT", "/namespaces/shop/settings", { requiredApprovals: 3 });
    expect((await call("april", "POST", `/changes/${id}/approve`, {})).body).toMatchObject({
      status: "open",
      requiredApprovals: 3,
    });
    await call("ada", "PUT", "/namespaces/shop/settings", { requiredApprovals: 2 });
    expect((await call("alan", "POST", `/changes/${id}/approve`, {})).body).toMatchObject({
      status: "applied",
      requiredApprovals: 2,
    });
  });
});

describe("one user approving the same change several times at once", () => {
  for (const required of [1, 2]) {
    it(`records one approval and answers the others 409, never 500 (${required} required)`, async () => {
      await call("oscar", "PUT", "/namespaces/other/settings", { requiredApprovals: required });
      const id = await open(`race ${required}`, route("other", `race-${required}`));
      const replies = await Promise.all(
        [0, 1, 2, 3].map(() => call("april", "POST", `/changes/${id}/approve`, {})),
      );
      const statuses = replies.map((r) => r.status).sort();
      expect(statuses, JSON.stringify(replies.map((r) => r.body))).toEqual([200, 409, 409, 409]);
      for (const r of replies.filter((x) => x.status === 409))
        expect(["CONFLICT", "CHANGE_NOT_OPEN"]).toContain(r.body.code);
      expect(await db.approval.count({ where: { changeRequestId: id } })).toBe(1);
    });
  }
});

describe("the audit log of a change spanning namespaces", () => {
  it("reaches the admins of each namespace, each seeing only their namespace's resources", async () => {
    await call("oscar", "PUT", "/namespaces/other/settings", { requiredApprovals: 1 });
    await call("ada", "PUT", "/namespaces/shop/settings", { requiredApprovals: 1 });
    const id = await open("spans two", route("shop", "span-shop"), route("other", "span-secret"));
    expect((await call("april", "POST", `/changes/${id}/approve`, {})).body).toMatchObject({
      status: "applied",
    });
    for (const [admin, mine, theirs] of [
      ["ada", "shop", "other"],
      ["oscar", "other", "shop"],
    ] as const) {
      const page = await call(admin, "GET", `/audit?targetId=${id}`);
      expect(page.status).toBe(200);
      const items = page.body.items as { action: string; namespace: string; details: unknown }[];
      expect(items.map((e) => e.action).sort()).toEqual(["change.apply", "change.approve", "change.create"]);
      for (const e of items) {
        expect(e.namespace).toBe(mine);
        const text = JSON.stringify(e.details);
        if (e.action !== "change.approve")
          expect(text).toContain(mine === "shop" ? "span-shop" : "span-secret");
        expect(text, `${admin} sees ${theirs}'s resources`).not.toContain(
          theirs === "shop" ? "span-shop" : "span-secret",
        );
      }
    }
    // A mesh-wide admin sees the entries of both namespaces.
    const all = (await call("root", "GET", `/audit?targetId=${id}&action=change.create`)).body.items as {
      namespace: string;
    }[];
    expect(all.map((e) => e.namespace).sort()).toEqual(["other", "shop"]);
  });
});

describe("a change you cannot read", () => {
  it("is answered 404 exactly as one that does not exist, for reads and decisions alike", async () => {
    const id = await open("shop only", route("shop", "hidden"));
    const number = (await call("eddie", "GET", `/changes/${id}`)).body.number as number;
    const missing = await call("olga", "GET", "/changes/99999");
    expect(missing.status).toBe(404);
    for (const [method, path] of [
      ["GET", `/changes/${number}`],
      ["GET", `/changes/${id}`],
      ["GET", `/changes/${number}/impact`],
      ["GET", `/changes/${number}/rollout`],
      ["POST", `/changes/${number}/approve`],
      ["POST", `/changes/${number}/reject`],
      ["POST", `/changes/${number}/rebase`],
    ] as const) {
      const r = await call("olga", method, path, method === "POST" ? {} : undefined);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body.code).toBe("NOT_FOUND");
      expect(r.body.detail).toBe(String(missing.body.detail).replace("99999", path.split("/")[2]!));
    }
  });
});
