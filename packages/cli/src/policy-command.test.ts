// `trellis policy suggest`, the built CLI against the real REST handler on a free port and a real PostgreSQL
// with telemetry rows: the evidence table, YAML that `trellis apply -f` proposes as it is, and its failures.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { handleRestRequest } from "@trellis/api";
import { serve, type TestServer } from "@trellis/api/testing";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { actorForUser, createApiToken, getChange } from "@trellis/services";
import { minuteAgo, seedAccessRollups, seedRollups } from "@trellis/services/testing";
import { runTrellis } from "./test-support/run-trellis.js";

let tdb: TestDatabase;
let db: Db;
let server: TestServer;
let url = "";
const tokens: Record<string, string> = {};
const dir = mkdtempSync(join(tmpdir(), "trellis-cli-policy-"));

const trellis = (args: string[], who = "editor") =>
  runTrellis(args, { TRELLIS_SERVER: url, TRELLIS_TOKEN: tokens[who]! });

/**
 * `n` calls from `src` to shop/ratings `ago` minutes back, as both sidecars report them (only the callee, and
 * without mTLS, for a caller outside the mesh).
 */
async function calls(src: [string, string], n: number, ago: number) {
  const outside = src[0] === "unknown";
  for (const reporter of outside ? (["inbound"] as const) : (["inbound", "outbound"] as const))
    await seedRollups(db, {
      bucket: minuteAgo(ago),
      reporter,
      source: src,
      destination: ["shop", "ratings"],
      requests: n,
      mtlsRequests: outside ? 0 : n,
    });
}

beforeAll(async () => {
  tdb = await createTestDatabase("cli_policy");
  db = createDb(tdb.url);
  for (const [name, role] of [
    ["editor", "editor"],
    ["viewer", "viewer"],
  ] as const) {
    const u = await db.user.create({ data: { name, roleBindings: { create: { role, namespace: "shop" } } } });
    tokens[name] = (
      await createApiToken(db, await actorForUser(db, u.id, { via: "api" }), { name: "t" })
    ).token;
  }
  const other = await db.user.create({
    data: { name: "billing", roleBindings: { create: { role: "admin", namespace: "billing" } } },
  });
  tokens.billing = (
    await createApiToken(db, await actorForUser(db, other.id, { via: "api" }), { name: "t" })
  ).token;
  for (const name of ["ratings", "reviews", "web"])
    await db.service.create({ data: { namespace: "shop", name } });
  await calls(["shop", "reviews"], 30, 2);
  await calls(["shop", "web"], 12, 90);
  await calls(["unknown", "unknown"], 3, 4);
  server = await serve((r) => handleRestRequest(db, r));
  url = server.url;
}, 120_000);
afterAll(async () => {
  await server?.close();
  await db?.$disconnect();
  await tdb?.drop();
});

describe("trellis policy suggest", () => {
  it("shows the evidence as a table by default, with what it cannot allow", async () => {
    const r = await trellis(["policy", "suggest", "ratings", "-n", "shop"], "viewer");
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split("\n");
    expect(lines[0]).toMatch(/^Callers of shop\/ratings from \S+ to \S+ \(24h\):$/);
    expect(lines[1]).toMatch(/^CALLER\s+REQUESTS\s+MTLS\s+LAST SEEN\s+SUGGESTION$/);
    expect(lines[2]).toMatch(/^shop\/reviews\s+30\s+100%\s+\d{4}-\d\d-\d\d \d\d:\d\dZ\s+allowed$/);
    expect(lines[3]).toMatch(/^shop\/web\s+12\s+100%\s+.+\s+allowed$/);
    expect(lines[4]).toMatch(/^unknown\/unknown\s+3\s+0%\s+.+\s+cannot allow: no mesh identity$/);
    expect(r.out).toContain("warning: 3 requests came from callers without a mesh identity");
    expect(r.out).toContain("creates AccessPolicy shop/ratings-observed");

    // A shorter window sees only the recent callers.
    const hour = await trellis([
      "policy",
      "suggest",
      "ratings",
      "-n",
      "shop",
      "--window",
      "1h",
      "-o",
      "json",
    ]);
    expect(hour.code, hour.err).toBe(0);
    const s = JSON.parse(hour.out) as { callers: { service: string }[]; resource: unknown };
    expect(s.callers.map((c) => c.service)).toEqual(["reviews", "unknown"]);
  });

  it("prints YAML that trellis apply proposes as it is", async () => {
    const r = await trellis(["policy", "suggest", "ratings", "-n", "shop", "-o", "yaml"]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^# Restrict callers of shop\/ratings to those observed in the last 24h\.\n/);
    expect(r.err).toContain("warning: 3 requests came from callers without a mesh identity");
    expect(parseYaml(r.out)).toEqual({
      apiVersion: "trellis.dev/v1alpha1",
      kind: "AccessPolicy",
      metadata: { name: "ratings-observed", namespace: "shop" },
      spec: {
        service: "ratings",
        allow: [
          {
            from: [
              { namespace: "shop", service: "reviews" },
              { namespace: "shop", service: "web" },
            ],
          },
        ],
      },
    });
    const file = join(dir, "policy.yaml");
    writeFileSync(file, r.out);
    const applied = await trellis(["apply", "-f", file, "-o", "json"]);
    expect(applied.code, applied.err).toBe(0);
    const change = JSON.parse(applied.out) as { id: string; status: string };
    expect(change.status).toBe("open");
    const stored = await getChange(
      db,
      await actorForUser(db, (await db.user.findUniqueOrThrow({ where: { name: "editor" } })).id, {
        via: "api",
      }),
      { id: change.id },
    );
    expect(stored.operations).toMatchObject([
      { action: "create", kind: "AccessPolicy", name: "ratings-observed" },
    ]);
  });

  it("fails in one line: a window out of bounds, a namespace not readable, nothing to propose", async () => {
    const bad = await trellis(["policy", "suggest", "ratings", "-n", "shop", "--window", "2w"]);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--window.*must be minutes, hours or days/);
    const long = await trellis(["policy", "suggest", "ratings", "-n", "shop", "--window", "60d"]);
    expect(long.code).not.toBe(0);
    expect(long.err.trim()).toBe(
      "trellis: VALIDATION_FAILED: the request is not valid (window: must be at most 30d)",
    );
    const forbidden = await trellis(["policy", "suggest", "ratings", "-n", "shop"], "billing");
    expect(forbidden.code).not.toBe(0);
    expect(forbidden.err.trim()).toMatch(/^trellis: FORBIDDEN: /);
    const none = await trellis(["policy", "suggest", "web", "-n", "shop", "-o", "yaml"]);
    expect(none.code).not.toBe(0);
    expect(none.out).toBe("");
    expect(none.err).toMatch(/^warning: no caller with a mesh identity was seen calling shop\/web/);
    expect(none.err).toMatch(/trellis: nothing to propose for shop\/web\n$/);
  });

  it("--methods --paths narrows each caller to what the service's sidecars observed it asking for", async () => {
    // reviews' 30 calls, as ratings' sidecars observed them; web's are older than the observations.
    for (const [method, path, n] of [
      ["GET", "/api/*", 25],
      ["POST", "/api/*", 5],
    ] as const)
      await seedAccessRollups(db, {
        bucket: minuteAgo(2),
        source: ["shop", "reviews"],
        destination: ["shop", "ratings"],
        method,
        path,
        requests: n,
      });
    const args = ["policy", "suggest", "ratings", "-n", "shop", "--methods", "--paths"];
    const yaml = await trellis([...args, "-o", "yaml"]);
    expect(yaml.code, yaml.err).toBe(0);
    expect(yaml.out).toContain("# mesh identity and the methods and path prefixes each was observed with.");
    expect(yaml.err).toContain(
      "warning: shop/web: the service's sidecars recorded methods and paths for only part",
    );
    expect((parseYaml(yaml.out) as { spec: unknown }).spec).toEqual({
      service: "ratings",
      allow: [
        { from: [{ namespace: "shop", service: "web" }] },
        { from: [{ namespace: "shop", service: "reviews" }], methods: ["GET", "POST"], paths: ["/api/*"] },
      ],
    });
    // The table shows what was observed, and where it falls short.
    const table = await trellis(args, "viewer");
    expect(table.code, table.err).toBe(0);
    expect(table.out).toMatch(/^CALLER\s+REQUESTS\s+MTLS\s+LAST SEEN\s+SUGGESTION\s+OBSERVED$/m);
    expect(table.out).toMatch(/^shop\/reviews\s+30\s.*allowed\s+GET,POST \/api\/\*$/m);
    expect(table.out).toMatch(/^shop\/web\s+12\s.*allowed\s+\(0 of 12: by identity\)$/m);
    expect(table.out).toContain("--window 24h --methods --paths -o yaml");
    // Without the flags: by identity, as before.
    const plain = await trellis(["policy", "suggest", "ratings", "-n", "shop", "-o", "json"]);
    expect(JSON.parse(plain.out)).toMatchObject({ granularity: "identity" });
  });
});
