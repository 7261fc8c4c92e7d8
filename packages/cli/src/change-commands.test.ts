// `trellis apply | get resources|changes|change | approve | reject | rollback`, the built CLI against the real
// REST handler on a free port and a real PostgreSQL. No control plane runs here: where a test needs proxies
// to acknowledge a generation, it writes the rows the control plane writes when a proxy ACKs
// (ProxyConfigStatus), which is what the rollout view reads.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { handleRestRequest } from "@trellis/api";
import { serve, type TestServer } from "@trellis/api/testing";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { actorForUser, bootstrap, createApiToken } from "@trellis/services";
import { runTrellis, type Run } from "./test-support/run-trellis.js";

const ADMIN_TOKEN = "trls_cli_change_admin_token_0123456789abcdef";

let tdb: TestDatabase;
let db: Db;
let server: TestServer;
let serverUrl = "";
const tokens: Record<"admin" | "editor" | "approver", string> = {
  admin: ADMIN_TOKEN,
  editor: "",
  approver: "",
};
const dir = mkdtempSync(join(tmpdir(), "trellis-cli-apply-"));

function trellis(args: string[], who: keyof typeof tokens = "editor"): Promise<Run> {
  return runTrellis(args, { TRELLIS_SERVER: serverUrl, TRELLIS_TOKEN: tokens[who] });
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const canary = (
  v1: number,
  v2: number,
  name = "reviews-canary",
  service = "reviews",
) => `apiVersion: trellis.dev/v1alpha1
kind: Route
metadata: { name: ${name}, namespace: shop }
spec:
  service: ${service}
  rules:
    - backends: [{ version: v1, weight: ${v1} }, { version: v2, weight: ${v2} }]
`;

/** What the control plane records when every proxy ACKs the generation a change produced. */
async function ackAll(changeNumber: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const gen = await db.configGeneration.findFirst({ where: { changeRequest: { number: changeNumber } } });
    if (gen) {
      const workloads = await db.workload.findMany();
      await db.proxyConfigStatus.createMany({
        data: workloads.map((w) => ({
          generationId: gen.id,
          workloadId: w.id,
          state: "acked" as const,
          version: "cfg",
        })),
      });
      return;
    }
    if (Date.now() > deadline) throw new Error(`change #${changeNumber} was never applied`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const number = (r: Run) => Number(/^#(\d+) /.exec(r.out)?.[1]);

beforeAll(async () => {
  tdb = await createTestDatabase("cli_changes");
  db = createDb(tdb.url);
  await bootstrap(db, { adminPassword: "correct horse battery staple", bootstrapToken: ADMIN_TOKEN });
  for (const [name, role] of [
    ["editor", "editor"],
    ["approver", "approver"],
  ] as const) {
    const u = await db.user.create({ data: { name, roleBindings: { create: { role, namespace: "shop" } } } });
    tokens[name] = (
      await createApiToken(db, await actorForUser(db, u.id, { via: "api" }), { name: "t" })
    ).token;
  }
  // One service per --wait scenario: a service takes one Route.
  for (const [s, name] of ["reviews", "ratings", "details"].entries()) {
    const svc = await db.service.create({ data: { namespace: "shop", name } });
    await db.workload.createMany({
      data: ["v1", "v2"].map((version, i) => ({
        serviceId: svc.id,
        version,
        address: `10.0.${s}.${i + 1}:15006`,
        identity: `spiffe://t/ns/shop/sa/${name}`,
      })),
    });
  }
  server = await serve((r) => handleRestRequest(db, r));
  serverUrl = server.url;
}, 120_000);
afterAll(async () => {
  await server?.close();
  await db?.$disconnect();
  await tdb?.drop();
});

describe("trellis apply", () => {
  it("opens a change request from a YAML file and prints its number and id", async () => {
    const r = await trellis(["apply", "-f", file("canary.yaml", canary(90, 10))]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^#1 \w+\n$/);
    expect(r.err).toContain('opened change #1 "Apply Route reviews-canary" (1 operation, 0/1 approval)');
    const row = await db.changeRequest.findUniqueOrThrow({ where: { number: 1 } });
    expect(row).toMatchObject({ status: "open", source: "cli" });
  });

  it("refuses invalid resources in one line with the field path, and opens nothing", async () => {
    const before = await db.changeRequest.count();
    const bad = await trellis(["apply", "-f", file("bad.yaml", canary(90, 20, "bad"))]);
    expect(bad.code).toBe(1);
    expect(bad.err.trim().split("\n")).toHaveLength(1);
    expect(bad.err).toMatch(/^trellis: CHANGE_INVALID: .*spec\.rules\[0\]\.backends.*100/);
    expect(bad.err.match(/must sum to 100/g)).toHaveLength(1);
    const garbage = await trellis(["apply", "-f", file("garbage.yaml", "kind: [unclosed\n")]);
    expect(garbage.code).toBe(1);
    expect(garbage.err.trim().split("\n")).toHaveLength(1);
    expect((await trellis(["apply", "-f", join(dir, "missing.yaml")])).err).toMatch(
      /cannot read .*: no such file/,
    );
    expect(await db.changeRequest.count()).toBe(before);
  });

  it("--wait follows the change through approval and the proxies' acks, exit 0", async () => {
    const waiting = trellis([
      "apply",
      "-f",
      file("c2.yaml", canary(80, 20, "reviews-split")),
      "--wait",
      "--title",
      "split",
    ]);
    // The author cannot approve their own change; an approver can.
    let n = 0;
    for (let i = 0; i < 100 && !n; i++) {
      n = (await db.changeRequest.findFirst({ where: { title: "split" } }))?.number ?? 0;
      if (!n) await new Promise((r) => setTimeout(r, 100));
    }
    const self = await trellis(["approve", String(n)], "editor");
    expect(self.code).toBe(1);
    expect(self.err).toMatch(/^trellis: CHANGE_SELF_APPROVAL: /);
    const ok = await trellis(["approve", `#${n}`, "-m", "looks right"], "approver");
    expect(ok.code, ok.err).toBe(0);
    expect(ok.err).toContain(`approved #${n}: now applied (1/1 approval)`);
    await ackAll(n);
    const r = await waiting;
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`#${n} waiting for approval (0/1 approval)`);
    expect(r.err).toContain(`#${n} applied, acknowledged by all 6 proxies`);
  });

  it("--wait ends with exit 2 when the change is rejected, and 6 when it times out", async () => {
    const waiting = trellis([
      "apply",
      "-f",
      file("c3.yaml", canary(50, 50, "ratings-half", "ratings")),
      "--wait",
      "--title",
      "half",
    ]);
    let n = 0;
    for (let i = 0; i < 100 && !n; i++) {
      n = (await db.changeRequest.findFirst({ where: { title: "half" } }))?.number ?? 0;
      if (!n) await new Promise((r) => setTimeout(r, 100));
    }
    const no = await trellis(["reject", String(n), "-m", "not on a Friday"], "approver");
    expect(no.code, no.err).toBe(0);
    const r = await waiting;
    expect(r.code).toBe(2);
    expect(r.err).toContain(`#${n} rejected by approver: not on a Friday`);

    const slow = await trellis([
      "apply",
      "-f",
      file("c4.yaml", canary(70, 30, "details-slow", "details")),
      "--wait",
      "--timeout",
      "2s",
    ]);
    expect(slow.code).toBe(6);
    expect(slow.err).toMatch(/still open after --timeout; stopped waiting/);
  });
});

describe("trellis get resources|changes|change, rollback", () => {
  it("lists changes and shows one with its reviews and rollout", async () => {
    const list = await trellis(["get", "changes"], "approver");
    expect(list.code, list.err).toBe(0);
    expect(list.out.split("\n")[0]).toMatch(
      /^#\s+STATUS\s+TITLE\s+AUTHOR\s+APPROVALS\s+NAMESPACES\s+UPDATED$/,
    );
    expect(list.out).toMatch(/^2\s+applied\s+split\s+editor\s+1\/1\s+shop\s/m);
    expect((await trellis(["get", "changes", "--status", "rejected", "-o", "json"])).out).toContain(
      '"title": "half"',
    );
    const one = await trellis(["get", "change", "2"]);
    expect(one.out).toContain("#2 split");
    expect(one.out).toContain("status:    applied");
    expect(one.out).toContain("approved by approver");
    expect(one.out).toMatch(/rollout:\s+generation \d+, complete: 6 acked, 0 nacked, 0 pending of 6/);
    const notFound = await trellis(["get", "change", "999"]);
    expect(notFound.code).toBe(1);
    expect(notFound.err).toMatch(/^trellis: NOT_FOUND: /);
  });

  it("gets resources in force, and one with its spec as YAML", async () => {
    const list = await trellis(["get", "resources", "-n", "shop"]);
    expect(list.out).toMatch(/^Route\s+shop\s+reviews-split\s+1\s/m);
    const one = parseYaml((await trellis(["get", "resource", "reviews-split", "-o", "yaml"])).out) as {
      spec: { rules: { backends: { weight: number }[] }[] };
    };
    expect(one.spec.rules[0]!.backends.map((b) => b.weight)).toEqual([80, 20]);
  });

  it("rolls back an applied change through a new change request", async () => {
    const rb = await trellis(["rollback", "2", "-m", "errors went up"]);
    expect(rb.code, rb.err).toBe(0);
    const n = number(rb);
    expect(rb.err).toContain(`opened rollback #${n} "Roll back #2`);
    expect((await trellis(["approve", String(n)], "approver")).code).toBe(0);
    const after = await trellis(["get", "resources", "-n", "shop", "-o", "json"]);
    expect((JSON.parse(after.out) as { name: string }[]).map((r) => r.name)).not.toContain("reviews-split");
    const fastTrack = await trellis(["rollback", String(n), "--fast-track", "urgent"], "editor");
    expect(fastTrack.code).toBe(1);
    expect(fastTrack.err).toMatch(/^trellis: FORBIDDEN: /);
  });
});

describe("server strings in what the CLI prints for people", () => {
  // Control characters and ANSI escapes as they may sit in the database (written before the API refused
  // them, or by another client): a CR that returns to the start of the line, an ANSI "erase line", a line
  // feed that starts a row of its own, an OSC that retitles the terminal, a bidi override.
  const forged = "harmless\r2  applied  forged\u001b[2K\nfake  row\u001b]0;pwned\u0007\u202e";
  const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/; // eslint-disable-line no-control-regex

  it("escapes control characters in tables and change pages instead of sending them to the terminal", async () => {
    const editor = await db.user.findUniqueOrThrow({ where: { name: "editor" } });
    const row = await db.changeRequest.create({
      data: {
        title: forged,
        description: `first line\n${forged}`,
        authorId: editor.id,
        source: "api",
        operations: {
          create: {
            index: 0,
            action: "create",
            kind: "Route",
            namespace: "shop",
            name: "forged",
            spec: { service: "details", rules: [{}] },
          },
        },
      },
    });

    const list = await trellis(["get", "changes"], "approver");
    expect(list.code, list.err).toBe(0);
    expect(list.out).not.toMatch(RAW_CONTROL);
    const lines = list.out.trimEnd().split("\n");
    // One header and one line per change: the line feed in the title made no row of its own.
    expect(lines).toHaveLength(1 + (await db.changeRequest.count()));
    const mine = lines.find((l) => l.startsWith(`${row.number} `))!;
    expect(mine).toContain("harmless\\r2  applied  forged\\x1b[2K\\nfake");

    const one = await trellis(["get", "change", String(row.number)], "approver");
    expect(one.code, one.err).toBe(0);
    expect(one.out).not.toMatch(RAW_CONTROL);
    expect(one.out.split("\n")[0]).toBe(
      `#${row.number} harmless\\r2  applied  forged\\x1b[2K\\nfake  row\\x1b]0;pwned\\x07\\u202e`,
    );
    // The description keeps its own lines, each one escaped.
    expect(one.out).toContain("\n  first line\n  harmless\\r2");
  });
});
