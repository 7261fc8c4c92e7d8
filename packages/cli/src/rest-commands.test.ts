// The built CLI's REST commands (user, whoami, get, audit, token), spawned as a user runs them, against a
// real API server (the REST handler the console serves, behind node's http server on a free port) and a
// real PostgreSQL database of this file's own.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { handleRestRequest } from "@trellis/api";
import { serve, type TestServer } from "@trellis/api/testing";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { actorForUser, bootstrap, createApiToken, verifyCredentials } from "@trellis/services";
import { freePort } from "@trellis/dataplane/testing";
import { runTrellis, type Run } from "./test-support/run-trellis.js";

const ADMIN_TOKEN = "trls_cli_rest_admin_token_0123456789abcdefgh";

let tdb: TestDatabase;
let db: Db;
let server: TestServer;
let serverUrl = "";
let shopAdminToken = "";

/** Runs the CLI as a user with ADMIN_TOKEN (or `token`; `null`: no TRELLIS_TOKEN at all) against the server. */
function trellis(args: string[], opts: { token?: string | null; input?: string } = {}): Promise<Run> {
  const token = opts.token === undefined ? ADMIN_TOKEN : (opts.token ?? undefined);
  return runTrellis(args, { TRELLIS_SERVER: serverUrl, TRELLIS_TOKEN: token }, opts);
}

beforeAll(async () => {
  tdb = await createTestDatabase("cli_rest");
  db = createDb(tdb.url);
  await bootstrap(db, { adminPassword: "correct horse battery staple", bootstrapToken: ADMIN_TOKEN });
  const shopAdmin = await db.user.create({
    data: { name: "shop-admin", roleBindings: { create: { role: "admin", namespace: "shop" } } },
  });
  shopAdminToken = (
    await createApiToken(db, await actorForUser(db, shopAdmin.id, { via: "api" }), { name: "t" })
  ).token;
  const svc = await db.service.create({ data: { namespace: "shop", name: "reviews", vip: "240.1.2.3" } });
  // Made before VIPs existed (or while the block was full): shown without one.
  await db.service.create({ data: { namespace: "shop", name: "legacy" } });
  await db.workload.createMany({
    data: ["v1", "v2"].map((version, i) => ({
      serviceId: svc.id,
      version,
      address: `10.0.0.${i + 1}:15006`,
      identity: "spiffe://t/ns/shop/sa/reviews",
      ackedVersion: "cfg-1",
    })),
  });
  server = await serve((r) => handleRestRequest(db, r));
  serverUrl = server.url;
}, 120_000);
afterAll(async () => {
  await server?.close();
  await db?.$disconnect();
  await tdb?.drop();
});

/** Every failure is one line on stderr, starting with "trellis: ", and exits non-zero. */
function expectOneLineFailure(r: Run, pattern: RegExp) {
  expect(r.code, r.err).not.toBe(0);
  const lines = r.err.trim().split("\n");
  expect(lines, r.err).toHaveLength(1);
  expect(lines[0]).toMatch(/^trellis: /);
  expect(lines[0]).toMatch(pattern);
}

describe("trellis whoami and the common REST options", () => {
  it("says who the token belongs to, from TRELLIS_SERVER/TRELLIS_TOKEN or --server/--token", async () => {
    const r = await trellis(["whoami"]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("admin");
    expect(r.out).toMatch(/effective: admin:\*/);
    const flags = await trellis(["whoami", "--server", serverUrl, "--token", shopAdminToken, "-o", "json"], {
      token: null,
    });
    expect(JSON.parse(flags.out)).toMatchObject({
      name: "shop-admin",
      effective: [{ role: "admin", namespace: "shop" }],
    });
  });

  it("fails in one line, never printing the token: none given, a wrong one, no server", async () => {
    expectOneLineFailure(await trellis(["whoami"], { token: null }), /an API token is required/);
    const wrong = "trls_wrong_token_value_0123456789abcdef";
    const bad = await trellis(["user", "list"], { token: wrong });
    expectOneLineFailure(bad, /AUTH_TOKEN_INVALID: the API token is invalid, expired or revoked/);
    expect(bad.out + bad.err).not.toContain(wrong);
    const closed = await freePort();
    const gone = await trellis(["get", "services", "--server", `http://127.0.0.1:${closed}`]);
    expectOneLineFailure(
      gone,
      new RegExp(`cannot reach the Trellis API at http://127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\)`),
    );
    expect(gone.out + gone.err).not.toContain(ADMIN_TOKEN);
  });
});

describe("trellis user", () => {
  it("creates a user with a password from standard input and roles ROLE[:NS]", async () => {
    const r = await trellis(
      [
        "user",
        "create",
        "alice",
        "--email",
        "alice@example.com",
        "--role",
        "editor:shop",
        "--role",
        "viewer",
        "--password-stdin",
      ],
      { input: "alice-password-1\n" },
    );
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain("created user alice (viewer:*,editor:shop)");
    expect(r.out + r.err).not.toContain("alice-password-1");
    const signedIn = await verifyCredentials(
      db,
      { name: "alice", password: "alice-password-1" },
      { via: "api" },
    );
    expect(signedIn.bindings).toEqual(
      expect.arrayContaining([
        { role: "editor", namespace: "shop" },
        { role: "viewer", namespace: "*" },
      ]),
    );
  });

  it("explains what is wrong with the input in one line, with the field", async () => {
    expectOneLineFailure(
      await trellis(["user", "create", "bob", "--password-stdin"], { input: "short\n" }),
      /VALIDATION_FAILED: .*\(password: must be at least 12 characters\)/,
    );
    expectOneLineFailure(
      await trellis(["user", "create", "bob"]),
      /no terminal to ask for a password: use --password-stdin/,
    );
    expectOneLineFailure(
      await trellis(["user", "create", "bob", "--sso", "--role", "owner"]),
      /unknown role "owner"/,
    );
    expectOneLineFailure(
      await trellis(["user", "create", "alice", "--sso"]),
      /^trellis: CONFLICT: a user named "alice" exists already$/,
    );
    expect(await db.user.count({ where: { name: "bob" } })).toBe(0);
  });

  it("creates SSO-only users and lists users as a table, JSON or YAML", async () => {
    const sso = await trellis([
      "user",
      "create",
      "bob",
      "--sso",
      "--namespace",
      "shop",
      "--role",
      "approver",
      "-o",
      "json",
    ]);
    expect(sso.code, sso.err).toBe(0);
    expect(JSON.parse(sso.out)).toMatchObject({
      name: "bob",
      hasPassword: false,
      bindings: [{ role: "approver", namespace: "shop" }],
    });

    const table = await trellis(["user", "list"]);
    expect(table.code, table.err).toBe(0);
    expect(table.out.split("\n")[0]).toMatch(/^NAME\s+ROLES\s+EMAIL\s+SIGN-IN\s+STATE\s+LAST LOGIN$/);
    expect(table.out).toMatch(/^bob\s+approver:shop\s+sso\s+active\s+never$/m);
    const json = JSON.parse((await trellis(["user", "list", "-o", "json"])).out) as { name: string }[];
    expect(json.map((u) => u.name)).toEqual(["admin", "alice", "bob", "shop-admin"]);
    const yaml = parseYaml((await trellis(["user", "list", "-o", "yaml"])).out) as { name: string }[];
    expect(yaml.map((u) => u.name)).toEqual(["admin", "alice", "bob", "shop-admin"]);
  });

  it("grants and revokes; refuses escalation and removing the last admin, with their codes", async () => {
    const g = await trellis(["user", "grant", "alice", "approver:shop"], { token: shopAdminToken });
    expect(g.code, g.err).toBe(0);
    expect(g.err).toContain("granted approver:shop to alice");
    const again = await trellis(["user", "grant", "alice", "approver:shop"], { token: shopAdminToken });
    expect(again.err).toContain("alice already had approver:shop");
    const rv = await trellis(["user", "revoke", "alice", "approver", "--namespace", "shop"], {
      token: shopAdminToken,
    });
    expect(rv.err).toContain("revoked approver:shop from alice");

    expectOneLineFailure(
      await trellis(["user", "grant", "alice", "admin"], { token: shopAdminToken }),
      /ROLE_ESCALATION: shop-admin administers namespace "shop" only/,
    );
    expectOneLineFailure(
      await trellis(["user", "revoke", "admin", "admin:*"]),
      /USER_LAST_ADMIN: admin is the last enabled admin of every namespace/,
    );
    expectOneLineFailure(
      await trellis(["user", "grant", "nobody", "viewer"]),
      /NOT_FOUND: no user named "nobody"/,
    );
  });

  it("disables and enables users, and resets a password to a generated one printed once", async () => {
    expect((await trellis(["user", "disable", "alice"])).err).toContain("alice is disabled");
    expect((await trellis(["user", "list", "-o", "json"])).out).toMatch(
      /"name": "alice",[^}]*"disabled": true/,
    );
    expect((await trellis(["user", "enable", "alice"])).err).toContain("alice is enabled");
    const reset = await trellis(["user", "reset-password", "alice", "--generate"]);
    expect(reset.code, reset.err).toBe(0);
    const pw = reset.out.trim();
    expect(pw).toMatch(/^[\w-]{24}$/);
    expect((await verifyCredentials(db, { name: "alice", password: pw }, { via: "api" })).name).toBe("alice");
    const chosen = await trellis(["user", "reset-password", "alice", "--password-stdin"], {
      input: "chosen-password-2",
    });
    expect(chosen.code, chosen.err).toBe(0);
    expect(chosen.out).toBe("");
    expect(
      (await verifyCredentials(db, { name: "alice", password: "chosen-password-2" }, { via: "api" })).name,
    ).toBe("alice");
  });

  it("lists another user's API tokens for an admin of *, so they can be revoked after a reset", async () => {
    // shop-admin's own token, made in beforeAll, is what an admin looks for after resetting shop-admin.
    const listed = await trellis(["token", "list", "--user", "shop-admin", "-o", "json"]);
    expect(listed.code, listed.err).toBe(0);
    const items = JSON.parse(listed.out) as { id: string; user: string }[];
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((t) => t.user === "shop-admin")).toBe(true);
    const table = await trellis(["token", "list", "--user", "shop-admin"]);
    expect(table.out.split("\n")[0]).toMatch(/^ID\s+PREFIX\s+USER\s+NAME\s+ROLE/);
    expectOneLineFailure(
      await trellis(["token", "list", "--user", "admin"], { token: shopAdminToken }),
      /FORBIDDEN: only admins of every namespace may list another user's API tokens/,
    );
  });
});

describe("trellis get and trellis audit", () => {
  it("gets services and proxies, all or by name", async () => {
    const svcs = await trellis(["get", "services"]);
    expect(svcs.code, svcs.err).toBe(0);
    expect(svcs.out).toMatch(/^NAMESPACE\s+NAME\s+VIP\s+VERSIONS\s+PROXIES\s+AGE$/m);
    expect(svcs.out).toMatch(/^shop\s+legacy\s+-\s+-\s+0\/0\s+\d+s$/m);
    expect(svcs.out).toMatch(/^shop\s+reviews\s+240\.1\.2\.3\s+v1,v2\s+2\/2\s+\d+s$/m);
    const one = JSON.parse((await trellis(["get", "service", "reviews", "-o", "json"])).out) as {
      name: string;
      vip: string | null;
    };
    expect(one).toMatchObject({ name: "reviews", vip: "240.1.2.3" });
    const all = JSON.parse((await trellis(["get", "services", "-o", "json"])).out) as {
      name: string;
      vip: string | null;
    }[];
    expect(all.map((s) => [s.name, s.vip])).toEqual([
      ["legacy", null],
      ["reviews", "240.1.2.3"],
    ]);
    expectOneLineFailure(await trellis(["get", "services", "nope"]), /no service named "nope"/);
    const proxies = JSON.parse(
      (await trellis(["get", "proxies", "reviews", "-n", "shop", "-o", "json"])).out,
    ) as {
      version: string;
    }[];
    expect(proxies.map((p) => p.version)).toEqual(["v1", "v2"]);
    expect((await trellis(["get", "proxies"])).out).toMatch(
      /^shop\s+reviews\s+v1\s+10\.0\.0\.1:15006\s+connected\s+cfg-1/m,
    );
    expectOneLineFailure(
      await trellis(["get", "widgets"]),
      /cannot get "widgets": choose one of services, proxies/,
    );
  });

  it("gets traces as a table and one trace as a waterfall; a namespace admin sees the others' spans redacted", async () => {
    const traceId = "cc000000000000000000000000000001";
    const base = Date.now() - 5_000;
    const span = (spanId: string, parent: string | null, namespace: string, service: string, o: object) => ({
      traceId,
      spanId,
      parentSpanId: parent,
      namespace,
      service,
      origin: "proxy",
      name: `GET ${service}`,
      kind: 2,
      startedAt: new Date(base),
      durationMs: 40,
      statusCode: 0,
      attributes: {},
      resource: {},
      ...o,
    });
    await db.traceSpan.createMany({
      data: [
        span("0000000000000001", null, "shop", "web", { durationMs: 40, httpStatus: 200 }),
        span("0000000000000002", "0000000000000001", "shop", "web", {
          kind: 3,
          startedAt: new Date(base + 10),
          durationMs: 20,
        }),
        span("0000000000000003", "0000000000000002", "billing", "ledger", {
          startedAt: new Date(base + 12),
          durationMs: 15,
          statusCode: 2,
          httpStatus: 503,
        }),
      ],
    });
    const list = await trellis(["get", "traces", "--status", "error", "--since", "10m"]);
    expect(list.code, list.err).toBe(0);
    expect(list.out).toMatch(/^TRACE\s+STARTED\s+DURATION\s+ROOT\s+SPANS\s+ERRORS$/m);
    expect(list.out).toMatch(new RegExp(`^${traceId}\\s.*40\\.0ms\\s+shop/web GET web\\s+3\\s+1$`, "m"));
    expect((await trellis(["get", "traces", "--status", "ok", "-o", "json"])).out).not.toContain(traceId);
    expect((await trellis(["get", "traces", "--min-duration", "41ms", "-o", "json"])).out).not.toContain(
      traceId,
    );
    expectOneLineFailure(
      await trellis(["get", "traces", "--min-duration", "soon"]),
      /--min-duration soon: a duration/,
    );

    const waterfall = await trellis(["get", "trace", traceId]);
    expect(waterfall.code, waterfall.err).toBe(0);
    const lines = waterfall.out.trim().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^trace ${traceId} .* 40\\.0ms, 3 spans, 1 failed$`));
    expect(lines[1]).toMatch(/^START\s+DURATION\s+TIMELINE\s+SPAN\s+KIND\s+STATUS$/);
    // Indented under their parents, bars placed on the trace's time line.
    expect(lines[2]).toMatch(/^\+0\.00ms\s+40\.0ms\s+█{30}\s+shop\/web GET web\s+server\s+200$/);
    expect(lines[3]).toMatch(/^\+10\.0ms\s+20\.0ms\s+ {7}█{15}\s+ {2}shop\/web GET web\s+client$/);
    expect(lines[4]).toMatch(
      /^\+12\.0ms\s+15\.0ms\s+ {9}█{11}\s+ {4}billing\/ledger GET ledger\s+server\s+503 error$/,
    );
    // The admin of shop sees billing's span only as a redacted one.
    const shop = await trellis(["get", "trace", traceId], { token: shopAdminToken });
    expect(shop.out).toMatch(/^\+12\.0ms\s+15\.0ms.*\(redacted: another namespace\)\s+server$/m);
    expect(shop.out).not.toContain("ledger");
    expectOneLineFailure(
      await trellis(["get", "trace", "dd000000000000000000000000000001"]),
      /no trace dd0+1/,
    );
  });

  it("shows the audit log with filters; the CLI's own calls are recorded as coming from the CLI", async () => {
    const r = await trellis([
      "audit",
      "--since",
      "1h",
      "--actor",
      "shop-admin",
      "--action",
      "role",
      "-o",
      "json",
    ]);
    expect(r.code, r.err).toBe(0);
    const events = JSON.parse(r.out) as { action: string; via: string; actorName: string }[];
    expect(events.map((e) => e.action)).toEqual(["role.revoke", "role.grant"]);
    expect(events.every((e) => e.via === "cli" && e.actorName === "shop-admin")).toBe(true);

    // More than one page: --limit follows the cursor.
    const many = JSON.parse((await trellis(["audit", "--limit", "3", "-o", "json"])).out) as { id: string }[];
    expect(many).toHaveLength(3);
    const table = await trellis(["audit", "--action", "user", "--limit", "2"]);
    expect(table.out.split("\n")[0]).toMatch(/^TIME\s+ACTOR\s+VIA\s+ACTION\s+NAMESPACE\s+TARGET\s+DETAILS$/);
    expect(table.out.trim().split("\n")).toHaveLength(3);
    expect((await trellis(["audit", "--until", "2000-01-01T00:00:00Z", "-o", "json"])).out.trim()).toBe("[]");
    expectOneLineFailure(await trellis(["audit", "--since", "last tuesday"]), /--since must be a duration/);
    // A namespace admin reads only their namespace's events.
    const scoped = JSON.parse((await trellis(["audit", "-o", "json"], { token: shopAdminToken })).out) as {
      namespace: string | null;
    }[];
    expect(scoped.length).toBeGreaterThan(0);
    expect(scoped.every((e) => e.namespace === "shop")).toBe(true);
  });

  it("shows and sets a namespace's required approvals (admins of the namespace)", async () => {
    const before = await trellis(["settings", "shop"]);
    expect(before.code, before.err).toBe(0);
    expect(before.out).toMatch(/^required approvals: 1 \(default\)$/m);
    const set = await trellis(["settings", "shop", "--required-approvals", "3", "-o", "json"], {
      token: shopAdminToken,
    });
    expect(JSON.parse(set.out)).toMatchObject({ namespace: "shop", requiredApprovals: 3 });
    expect(
      (await db.namespaceSetting.findUniqueOrThrow({ where: { namespace: "shop" } })).requiredApprovals,
    ).toBe(3);
    expectOneLineFailure(
      await trellis(["settings", "billing", "--required-approvals", "2"], { token: shopAdminToken }),
      /^trellis: FORBIDDEN: shop-admin needs the admin role in namespace "billing"$/,
    );
    // A bad flag is commander's to report (its message, then a hint to --help), before any request.
    const bad = await trellis(["settings", "shop", "--required-approvals", "11"]);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain("argument '11' is invalid. must be from 1 to 10");
  });

  it("token create --user signs in with a password (no token needed) and prints only the new token", async () => {
    const r = await trellis(["token", "create", "--user", "alice", "--password-stdin", "--name", "laptop"], {
      token: null,
      input: "chosen-password-2\n",
    });
    expect(r.code, r.err).toBe(0);
    const token = r.out.trim();
    expect(token).toMatch(/^trls_[\w-]{43}$/);
    expect(r.err).toContain('API token "laptop"');
    const me = await trellis(["whoami", "-o", "json"], { token });
    expect(JSON.parse(me.out)).toMatchObject({ name: "alice", token: { name: "laptop" } });
    expectOneLineFailure(
      await trellis(["token", "create", "--user", "alice", "--password-stdin"], {
        token: null,
        input: "wrong!",
      }),
      /^trellis: AUTH_INVALID_CREDENTIALS: wrong user name or password$/,
    );
  });
});
