// `trellis proxy` is parsed by proxy-program.ts, which loads the proxy command alone (docs/decisions/018): the
// same command as in the full program, and none of the others' modules.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildProgram } from "./program.js";

const BIN = fileURLToPath(new URL("../bin/trellis.js", import.meta.url));

/** `trellis …args` as a user runs it; also the ES modules it loaded (file URLs). */
function trellis(args: string[]): { code: number | null; out: string; modules: string[] } {
  const log = join(mkdtempSync(join(tmpdir(), "trellis-modules-")), "modules.log");
  const hooks = `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.startsWith("file:")) appendFileSync(${JSON.stringify(log)}, r.url + "\\n");
  return r;
}`;
  const register = `import { register } from "node:module"; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
  const r = spawnSync(
    process.execPath,
    ["--import", `data:text/javascript,${encodeURIComponent(register)}`, BIN, ...args],
    { encoding: "utf8", timeout: 20_000 },
  );
  let modules: string[] = [];
  try {
    modules = readFileSync(log, "utf8").trim().split("\n");
  } catch {
    // nothing logged
  }
  return { code: r.status, out: r.stdout, modules };
}

describe("trellis proxy", () => {
  it("is the same command as in the full program: same help, same options", () => {
    const full = buildProgram().commands.find((c) => c.name() === "proxy")!;
    let help = "";
    full.configureOutput({ writeOut: (s) => (help += s) });
    full.outputHelp();
    const r = trellis(["proxy", "--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(help);
  });

  it("loads no other command, and not the whole of @trellis/contracts", () => {
    const r = trellis(["proxy", "--help"]);
    expect(r.code).toBe(0);
    const commands = r.modules.filter((m) => /\/cli\/dist\/commands\//.test(m));
    expect(commands.map((m) => m.replace(/.*\/commands\//, ""))).toEqual(["proxy.js"]);
    expect(r.modules.filter((m) => m.endsWith("/contracts/dist/index.js"))).toEqual([]);
    expect(r.modules.some((m) => m.endsWith("/dataplane/dist/v8-tuning.js"))).toBe(true);
  });
});
