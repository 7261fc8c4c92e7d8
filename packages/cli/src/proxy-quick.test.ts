// `trellis proxy --listen … --to …` (quick mode), the built CLI as a user runs it, with curl as the client:
// the upstream's protocol is what --app-protocol says, whatever the client speaks.
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "@trellis/dataplane/testing";

const BIN = fileURLToPath(new URL("../bin/trellis.js", import.meta.url));

const children: ChildProcess[] = [];
const servers: { close(): void }[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGTERM");
  for (const s of servers.splice(0)) s.close();
});

async function quickProxy(to: number, extra: string[] = []): Promise<number> {
  return (await quickProxyProcess(to, extra)).port;
}

async function quickProxyProcess(
  to: number,
  extra: string[] = [],
): Promise<{ port: number; child: ChildProcess; log: () => string }> {
  const listen = await freePort();
  const admin = await freePort();
  const child = spawn(
    process.execPath,
    [
      BIN,
      "proxy",
      "--listen",
      `127.0.0.1:${listen}`,
      "--to",
      `127.0.0.1:${to}`,
      "--admin-port",
      String(admin),
      ...extra,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(child);
  let out = "";
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  await expect.poll(() => out, { timeout: 20_000 }).toContain("in force");
  return { port: listen, child, log: () => out };
}

/** curl, run asynchronously: the upstream answering it lives in this process. */
function curl(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn("curl", ["-sS", "--max-time", "10", ...args]);
    let out = "";
    let err = "";
    c.stdout.on("data", (d: Buffer) => (out += d.toString()));
    c.stderr.on("data", (d: Buffer) => (err += d.toString()));
    c.on("error", (e) => reject(new Error(`curl is needed for this test: ${e.message}`)));
    c.on("close", (code) => resolve({ code, out, err }));
  });
}

describe("trellis proxy quick mode", () => {
  it("takes an h2c client to an HTTP/1.1 upstream (the default) and an HTTP/1.1 client too", async () => {
    const upstream = http.createServer((req, res) => {
      res.setHeader("x-upstream-saw", `HTTP/${req.httpVersion}`);
      res.end(`hello from ${req.url}`);
    });
    servers.push(upstream);
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    const port = await quickProxy((upstream.address() as AddressInfo).port);

    const h2 = await curl(["--http2-prior-knowledge", "-i", `http://127.0.0.1:${port}/x`]);
    expect(h2.code, h2.err).toBe(0);
    expect(h2.out).toMatch(/^HTTP\/2 200/);
    expect(h2.out).toMatch(/x-upstream-saw: HTTP\/1\.1/i);
    expect(h2.out).toContain("hello from /x");

    const h1 = await curl(["--http1.1", "-i", `http://127.0.0.1:${port}/y`]);
    expect(h1.code, h1.err).toBe(0);
    expect(h1.out).toMatch(/^HTTP\/1\.1 200/);
    expect(h1.out).toContain("hello from /y");
  }, 30_000);

  it("speaks h2c upstream with --app-protocol h2c, to HTTP/1.1 and HTTP/2 clients alike", async () => {
    const upstream = http2.createServer((req, res) => {
      res.setHeader("x-upstream-saw", `HTTP/${req.httpVersion}`);
      res.end(`hello from ${req.url}`);
    });
    servers.push(upstream);
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    const port = await quickProxy((upstream.address() as AddressInfo).port, ["--app-protocol", "h2c"]);

    for (const flag of ["--http1.1", "--http2-prior-knowledge"]) {
      const r = await curl([flag, "-i", `http://127.0.0.1:${port}/z`]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/ 200/);
      expect(r.out).toMatch(/x-upstream-saw: HTTP\/2\.0/i);
      expect(r.out).toContain("hello from /z");
    }
  }, 30_000);

  it("drains on SIGTERM after serving, says so, and exits 0", async () => {
    // It once exited mid-drain: the drain waited on an unref'd timer, the event loop emptied, and whatever came
    // after the drain (removing capture rules) never ran.
    const upstream = http.createServer((_req, res) => res.end("ok"));
    servers.push(upstream);
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    const { port, child, log } = await quickProxyProcess((upstream.address() as AddressInfo).port);
    expect((await curl([`http://127.0.0.1:${port}/`])).out).toBe("ok");
    const exited = new Promise<number | null>((r) => child.once("exit", r));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(log()).toContain("trellis proxy: drained");
  }, 30_000);
});
