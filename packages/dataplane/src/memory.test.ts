// What keeps a sidecar small (docs/decisions/018-sidecar-memory.md), checked where a change would undo it
// silently: the modules the proxy loads, and the V8 settings `trellis proxy` applies taking effect at run time.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loggedModules, moduleLogArgs } from "./testing.js";

const PACKAGE = fileURLToPath(new URL("..", import.meta.url));

/** Runs `code` (an ES module) in a fresh node from this package; returns its stdout, and the ES modules it loaded. */
function run(code: string): { out: string; modules: string[] } {
  const log = join(mkdtempSync(join(tmpdir(), "trellis-modules-")), "modules.log");
  const r = spawnSync(process.execPath, [...moduleLogArgs(log), "--input-type=module", "-e", code], {
    cwd: PACKAGE,
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return { out: r.stdout, modules: loggedModules(log) };
}

describe("what a sidecar loads", () => {
  it("takes the proxy's part of @trellis/contracts, not the index; undici's Pool, not undici; no YAML", () => {
    const { out, modules } = run(`
      import { createRequire } from "node:module";
      await import("@trellis/dataplane");
      await import("@trellis/dataplane/mesh");
      console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`);
    expect(modules.some((m) => m.endsWith("/contracts/dist/proxy.js"))).toBe(true);
    expect(modules.filter((m) => m.endsWith("/contracts/dist/index.js"))).toEqual([]);
    // The API's and the console's schemas stay out.
    expect(
      modules.filter((m) => /\/contracts\/dist\/(resources\/index|changes|users|traffic)\.js$/.test(m)),
    ).toEqual([]);
    const required = JSON.parse(out) as string[];
    expect(required.some((m) => m.endsWith("/undici/lib/dispatcher/pool.js"))).toBe(true);
    expect(required.filter((m) => m.endsWith("/undici/index.js"))).toEqual([]);
    expect([...modules, ...required].filter((m) => m.includes("/node_modules/yaml/"))).toEqual([]);
  });
});

describe("tuneV8ForProxy", () => {
  // Allocation with some survivors (a ring of recent objects, ~200 KB: the requests in flight), which makes V8
  // grow the young generation, in slices of ~1 MB per turn of the event loop, as a proxy's requests come
  // (tuneV8ForTraffic steers after each garbage collection, from a GC observer that runs between turns).
  const churn = `
    const v8 = await import("node:v8");
    const ring = new Array(2000);
    for (let round = 0; round < 400; round++) {
      for (let i = 0; i < 10_000; i++) ring[(round * 10_000 + i) % ring.length] = { i, s: "x" + i, a: [i, i + 1] };
      await new Promise((r) => setImmediate(r));
    }
    const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
    console.log(young.space_size);`;
  const MB = 1024 * 1024;

  it("keeps the young generation at 2 × 1 MB while the proxy loads, 2 × 2 MB once it serves", () => {
    const defaults = Number(run(churn).out);
    const loading = Number(
      run(`(await import("@trellis/dataplane/v8-tuning")).tuneV8ForProxy();\n${churn}`).out,
    );
    const serving = Number(
      run(
        `const t = await import("@trellis/dataplane/v8-tuning"); t.tuneV8ForProxy(); t.tuneV8ForTraffic();\n${churn}`,
      ).out,
    );
    // Node's own default grows it (up to 2 × 16 MB): otherwise this test would prove nothing.
    expect(defaults).toBeGreaterThan(4 * MB);
    // The flags take effect at run time: a Node whose V8 stops honouring them fails here.
    expect(loading).toBeLessThanOrEqual(2 * MB);
    expect(serving).toBe(4 * MB);
  });

  it("tuneV8ForTraffic does nothing in a process that kept Node's defaults", () => {
    const out = Number(
      run(`(await import("@trellis/dataplane/v8-tuning")).tuneV8ForTraffic();\n${churn}`).out,
    );
    expect(out).toBeGreaterThan(4 * MB);
  });
});
