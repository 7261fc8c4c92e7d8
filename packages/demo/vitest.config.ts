import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" },
    globalSetup: ["./test/global-setup.ts"],
    // One demo mesh (seven apps and their sidecars) against one control plane: one file at a time.
    fileParallelism: false,
    testTimeout: 30_000,
    // Joins, the first configs and telemetry go through the control plane and the database: allow for a busy machine.
    expect: { poll: { timeout: 15_000, interval: 100 } },
    hookTimeout: 120_000,
  },
});
