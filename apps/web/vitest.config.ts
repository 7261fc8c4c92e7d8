import { defineConfig } from "vitest/config";

// Unit tests of the console's pure modules (graph model and layout), and the sign-in's rate limit against a
// real PostgreSQL (lib/server/auth.test.ts makes its own database). Components are tested end to end in e2e/.
export default defineConfig({
  test: {
    include: ["app/**/*.test.ts", "lib/**/*.test.ts"],
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" },
  },
});
