import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Processes, not threads: a bed registers exit and signal hooks on its process.
    pool: "forks",
  },
});
