import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" },
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Files run in parallel workers; each test binds its own ephemeral ports on 127.0.0.1.
    pool: "forks",
  },
});
