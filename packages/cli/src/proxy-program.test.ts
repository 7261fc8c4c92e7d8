// `trellis proxy` is parsed by proxy-program.ts, which loads the proxy command alone (docs/decisions/018): the
// same command as in the full program, and none of the others' modules. bin/trellis.js runs it from the proxy's
// bundle (dist/proxy.bundle.js, built by scripts/bundle-proxy.mjs), or unbundled with TRELLIS_PROXY_UNBUNDLED=1:
// both are checked here, down to a request through a real proxy.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, loggedModules, moduleLogArgs } from "@trellis/dataplane/testing";
import { buildProgram } from "./program.js";

const BIN = fileURLToPath(new URL("../bin/trellis.js", import.meta.url));
const BUNDLE = pathToFileURL(fileURLToPath(new URL("../dist/proxy.bundle.js", import.meta.url))).href;
const MODES: { mode: string; env: Record<string, string> }[] = [
  { mode: "bundled", env: {} },
  { mode: "unbundled", env: { TRELLIS_PROXY_UNBUNDLED: "1" } },
];

/** `trellis …args` as a user runs it; also the ES modules it loaded (file URLs). */
function trellis(
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; out: string; modules: string[] } {
  const log = join(mkdtempSync(join(tmpdir(), "trellis-modules-")), "modules.log");
  const r = spawnSync(process.execPath, [...moduleLogArgs(log), BIN, ...args], {
    encoding: "utf8",
    timeout: 20_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status, out: r.stdout, modules: loggedModules(log) };
}

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

describe("trellis proxy", () => {
  it.each(MODES)("is the same command as in the full program ($mode): same help, same options", ({ env }) => {
    const full = buildProgram().commands.find((c) => c.name() === "proxy")!;
    let help = "";
    full.configureOutput({ writeOut: (s) => (help += s) });
    full.outputHelp();
    const r = trellis(["proxy", "--help"], env);
    expect(r.code).toBe(0);
    expect(r.out).toBe(help);
  });

  it("unbundled, loads no other command, and not the whole of @trellis/contracts", () => {
    const r = trellis(["proxy", "--help"], { TRELLIS_PROXY_UNBUNDLED: "1" });
    expect(r.code).toBe(0);
    const commands = r.modules.filter((m) => /\/cli\/dist\/commands\//.test(m));
    expect(commands.map((m) => m.replace(/.*\/commands\//, ""))).toEqual(["proxy.js"]);
    expect(r.modules.filter((m) => m.endsWith("/contracts/dist/index.js"))).toEqual([]);
    expect(r.modules.some((m) => m.endsWith("/dataplane/dist/v8-tuning.js"))).toBe(true);
  });

  it.each(MODES)(
    "carries a request to its upstream ($mode); bundled, it loads no module but the bundle",
    async ({ mode, env }) => {
      const upstream = http.createServer((req, res) => res.end(`upstream saw ${req.method} ${req.url}`));
      await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
      cleanups.push(() => upstream.close());
      const [listen, admin] = [await freePort(), await freePort()];
      const log = join(mkdtempSync(join(tmpdir(), "trellis-modules-")), "modules.log");
      const to = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
      const child = spawn(
        process.execPath,
        [
          ...moduleLogArgs(log),
          BIN,
          "proxy",
          "--listen",
          `127.0.0.1:${listen}`,
          "--to",
          to,
          "--admin-port",
          `${admin}`,
        ],
        { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env } },
      );
      cleanups.push(() => child.kill("SIGKILL"));
      let err = "";
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      await expect.poll(() => err, { timeout: 20_000 }).toContain("in force");

      const body = await fetch(`http://127.0.0.1:${listen}/some/path?q=1`).then((r) => r.text());
      expect(body).toBe("upstream saw GET /some/path?q=1");

      const modules = loggedModules(log);
      // (ES modules: the resolve hook does not see CommonJS `require`s; the bundle has none but ws's optional helpers.)
      if (mode === "bundled") expect(modules).toEqual([pathToFileURL(BIN).href, BUNDLE]);
      else {
        expect(modules).not.toContain(BUNDLE);
        expect(modules.some((m) => m.endsWith("/dataplane/dist/proxy.js"))).toBe(true);
      }
    },
  );
});
