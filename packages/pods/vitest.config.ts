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
    // One file at a time: every createBed sweeps the machine's dead beds first, so a file running beside
    // sweep.test.ts could sweep the dead owner's bed that test is about to sweep and assert on.
    fileParallelism: false,
  },
});
