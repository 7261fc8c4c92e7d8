#!/usr/bin/env node
// `npm test`: every package's tests through Turborepo, then one closing line that adds them all up
// ("Tests: N passed, N failed, N skipped"), read from the JSON reports each runner writes into its
// package's test-results/. Only reports written by this run count.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const started = Date.now();
const args = process.argv.slice(2);
const run = spawnSync("npx", ["turbo", "run", "test", "--concurrency=1", ...args], {
  stdio: "inherit",
  env: process.env,
});

let passed = 0;
let failed = 0;
let skipped = 0;
const reports = [];
for (const group of ["packages", "apps", "."]) {
  const dirs = group === "." ? ["e2e", "tools"] : readdirSync(group).map((d) => join(group, d));
  for (const dir of dirs) {
    const resultsDir = join(dir, "test-results");
    let files;
    try {
      files = readdirSync(resultsDir).filter((f) => f.endsWith(".json"));
    } catch {
      continue; // this package wrote no report
    }
    for (const f of files) {
      const file = join(resultsDir, f);
      if (statSync(file).mtimeMs < started) continue;
      const r = JSON.parse(readFileSync(file, "utf8"));
      if (typeof r.numPassedTests === "number") {
        // vitest
        passed += r.numPassedTests;
        failed += r.numFailedTests;
        skipped += r.numPendingTests + (r.numTodoTests ?? 0);
      } else if (r.stats) {
        // Playwright
        passed += r.stats.expected + r.stats.flaky;
        failed += r.stats.unexpected;
        skipped += r.stats.skipped;
      } else {
        continue; // not a test report (e.g. Playwright's .last-run.json)
      }
      reports.push(file);
    }
  }
}
const code = run.status ?? 1;
if (code !== 0 && failed === 0) failed = 1; // a runner that crashed before reporting still failed
console.log(`\n${reports.length} reports: ${reports.join(", ")}`);
console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(code);
