import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// `server-only` throws outside React's server environment, which a test is not: resolve it to the empty
// module Next resolves it to on the server.
const serverOnly = join(dirname(createRequire(import.meta.url).resolve("server-only")), "empty.js");

// Unit tests of the console's pure modules (graph model and layout), and the sign-in's rate limit against a
// real PostgreSQL (lib/server/auth.test.ts makes its own database). Components are tested end to end in e2e/.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^server-only$/, replacement: serverOnly },
      // tsconfig.json's `@/*`, for the pure modules that import the console's own (graph-model.ts).
      { find: /^@\//, replacement: fileURLToPath(new URL("./", import.meta.url)) },
    ],
  },
  test: {
    include: ["app/**/*.test.ts", "lib/**/*.test.ts"],
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" },
  },
});
