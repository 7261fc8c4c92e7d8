import { defineConfig } from "vitest/config";

// The boundary rules' tests: ESLint's Node API on small fixtures, one per rule and boundary.
export default defineConfig({
  test: {
    include: ["**/*.test.mjs"],
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" },
  },
});
