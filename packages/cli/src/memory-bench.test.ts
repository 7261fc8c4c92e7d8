// The memory benchmark (`npm run bench:memory`, bench/memory.mjs), run briefly as a user runs it: a few idle
// connections, a second of load. Not a measurement: it asserts that the benchmark works and reads what it says —
// a row per target with numbers that add up, `trellis proxy` in both modes carrying the connections and the load
// (a failed request fails the run), and the proxy above its floor.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const BENCH = fileURLToPath(new URL("../bench/memory.mjs", import.meta.url));

describe("bench:memory", () => {
  it("measures the floors and trellis proxy (quick mode, mTLS sidecar), idle, with connections and under load", () => {
    const json = join(mkdtempSync(join(tmpdir(), "trellis-bench-memory-")), "rows.json");
    const r = spawnSync(process.execPath, [BENCH], {
      env: {
        ...process.env,
        BENCH_CONNECTIONS: "1,20",
        BENCH_LOAD_SECONDS: "1",
        BENCH_IDLE_MS: "500",
        BENCH_JSON: json,
      },
      encoding: "utf8",
      timeout: 140_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const rows = JSON.parse(readFileSync(json, "utf8")) as Record<string, string>[];
    expect(rows.map((row) => row.target)).toEqual([
      "floor: node:http listeners only",
      "trellis proxy (quick mode)",
      "floor: node:https (mTLS) listener only",
      "trellis proxy (sidecar, mTLS in)",
    ]);
    for (const row of rows) {
      for (const key of ["idle MB", "1 conn MB", "20 conns MB", "peak MB (run)", "idle after load MB"])
        expect(Number(row[key]), `${row.target}: ${key}`).toBeGreaterThan(20);
      expect(Number(row["peak MB (run)"])).toBeGreaterThanOrEqual(Number(row["idle MB"]));
    }
    const mb = (i: number) => Number(rows[i]!["idle MB"]);
    // The proxy loads more than a bare server: a floor above the proxy would mean the rows are mixed up.
    expect(mb(1)).toBeGreaterThan(mb(0));
    expect(mb(3)).toBeGreaterThan(mb(2));
  }, 150_000);
});
