import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" },
    globalSetup: ["./test/global-setup.ts"],
    // Test files share the run's database (and its one mesh CA): one file at a time.
    fileParallelism: false,
    testTimeout: 30_000,
    // Rollouts go through NOTIFY, a debounce and database writes: allow for a busy machine.
    expect: { poll: { timeout: 10_000, interval: 50 } },
    hookTimeout: 120_000,
  },
});
