import { defineConfig } from "vitest/config";

// Two projects: the package's tests, files in parallel; then the chaos tests (src/run/chaos.test.ts) alone,
// since they measure failures and timings under steady load, which other files' processes on the same two
// cores would blur. `npx vitest run --project chaos` runs them by themselves.
export default defineConfig({
  test: {
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" },
    projects: [
      {
        extends: true,
        test: {
          name: "cli",
          include: ["src/**/*.test.ts"],
          exclude: ["src/run/chaos.test.ts"],
          testTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "chaos",
          include: ["src/run/chaos.test.ts"],
          testTimeout: 60_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
