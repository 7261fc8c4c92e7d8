// Each package boundary in eslint.config.mjs, and each of tools/eslint/plugin.mjs's rules, catching one
// violation (and letting the allowed import next to it through), so that a rule that silently stops matching
// (a glob that no longer fits a path, an option renamed upstream) fails here rather than passing everything.
// The fixtures are linted as if they were files at the given paths: the config picks its rules by path, and
// declared-dependencies reads the package.json of the package the path is in.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const eslint = new ESLint({ cwd: ROOT });

/** The problems ESLint reports for `code` as the file `path`, as "rule: message" (unused imports aside). */
async function lint(path, code) {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path) });
  return result.messages
    .filter((m) => m.ruleId !== "@typescript-eslint/no-unused-vars")
    .map((m) => `${m.ruleId}: ${m.message}`);
}

const RESTRICTED = "@typescript-eslint/no-restricted-imports";

// [what, file, code, rule, a fragment of its message]
const violations = [
  [
    "contracts imports more than zod",
    "packages/contracts/src/f.ts",
    'import "yaml";',
    RESTRICTED,
    "contracts imports only zod",
  ],
  [
    "the data plane imports the database",
    "packages/dataplane/src/f.ts",
    'import "@trellis/db";',
    RESTRICTED,
    "the data plane imports contracts",
  ],
  [
    "the data plane imports services",
    "packages/dataplane/src/f.ts",
    'import "@trellis/services";',
    RESTRICTED,
    "the data plane imports contracts",
  ],
  [
    "the data plane imports Next",
    "packages/dataplane/src/f.ts",
    'import "next/server";',
    RESTRICTED,
    "the data plane imports contracts",
  ],
  [
    "the data plane loads the whole contracts index",
    "packages/dataplane/src/f.ts",
    'import { spiffeId } from "@trellis/contracts";',
    RESTRICTED,
    "the data plane loads @trellis/contracts/proxy",
  ],
  [
    "the pod bed imports another Trellis package",
    "packages/pods/src/f.ts",
    'import "@trellis/contracts";',
    RESTRICTED,
    "pods imports only Node built-ins",
  ],
  [
    "the pod bed imports a library",
    "packages/pods/src/f.ts",
    'import "yaml";',
    RESTRICTED,
    "pods imports only Node built-ins",
  ],
  [
    "the data plane makes pods at run time",
    "packages/dataplane/src/f.ts",
    'import "@trellis/pods";',
    RESTRICTED,
    "the data plane imports contracts",
  ],
  [
    "the control plane imports the data plane at run time",
    "packages/control-plane/src/f.ts",
    'import "@trellis/dataplane/mesh";',
    RESTRICTED,
    "proxies are reached over the wire",
  ],
  [
    "db imports another Trellis package",
    "packages/db/src/f.ts",
    'import "@trellis/contracts";',
    RESTRICTED,
    "it imports no other Trellis package",
  ],
  [
    "services imports api",
    "packages/services/src/f.ts",
    'import "@trellis/api";',
    RESTRICTED,
    "the edges (api, console, CLI) call it",
  ],
  [
    "api imports the control plane",
    "packages/api/src/f.ts",
    'import "@trellis/control-plane";',
    RESTRICTED,
    "api is thin",
  ],
  [
    "the demo imports services",
    "packages/demo/src/f.ts",
    'import "@trellis/services";',
    RESTRICTED,
    "the demo's apps",
  ],
  [
    "the CLI imports api at run time",
    "packages/cli/src/f.ts",
    'import "@trellis/api";',
    RESTRICTED,
    "the CLI reaches the console over REST",
  ],
  [
    "a console page imports the database client",
    "apps/web/app/(console)/f.ts",
    'import { createDb } from "@trellis/db";',
    RESTRICTED,
    "the console reaches data only through",
  ],
  [
    "the console imports Prisma",
    "apps/web/lib/f.ts",
    'import "@prisma/client";',
    RESTRICTED,
    "the console reaches data only through",
  ],
  [
    "the console imports the data plane",
    "apps/web/lib/f.ts",
    'import "@trellis/dataplane";',
    RESTRICTED,
    "the console reaches data only through",
  ],
  [
    "the console queries the database",
    "apps/web/app/(console)/f.ts",
    'import { db } from "@/lib/server/db";\nexport const u = db().user.findMany();',
    "no-restricted-syntax",
    "pass db() to a service",
  ],
  [
    "a console server module lacks server-only",
    "apps/web/lib/server/f.ts",
    "export const secret = 1;",
    "trellis/server-only-marker",
    'imports "server-only"',
  ],
  [
    "an import its package does not declare",
    "packages/dataplane/src/f.ts",
    'import "commander";',
    "trellis/declared-dependencies",
    "commander is not in @trellis/dataplane's dependencies",
  ],
  [
    "a devDependency imported by code that runs",
    "packages/services/src/f.ts",
    'import "pg";',
    "trellis/declared-dependencies",
    "only in devDependencies",
  ],
  [
    "a bench imports a package its own does not declare",
    "packages/dataplane/bench/f.mjs",
    'import "@trellis/db";',
    "trellis/declared-dependencies",
    "@trellis/db is not in @trellis/dataplane's dependencies",
  ],
  [
    "a bench reaches into its package's dist by path",
    "packages/control-plane/bench/f.mjs",
    'import "../dist/index.js";',
    "no-restricted-imports",
    "a bench imports its own package by name",
  ],
  [
    "a bench reaches into another package by path",
    "packages/dataplane/bench/f.mjs",
    'import "../../control-plane/dist/index.js";',
    "no-restricted-imports",
    "a bench imports its own package by name",
  ],
];

// [what, file, code]: the allowed neighbour of each violation above.
const allowed = [
  [
    "contracts imports zod and its own files",
    "packages/contracts/src/f.ts",
    'import "zod";\nimport "./names.js";',
  ],
  [
    "the data plane imports contracts' proxy part, Node and its libraries (types from the index)",
    "packages/dataplane/src/f.ts",
    'import "@trellis/contracts/proxy";\nimport type { Limits } from "@trellis/contracts";\nimport "node:http";\nimport "undici";',
  ],
  [
    "a control-plane test starts a real proxy",
    "packages/control-plane/src/f.test.ts",
    'import "@trellis/dataplane/mesh";\nimport "@trellis/services";',
  ],
  [
    "the pod bed imports Node built-ins and its own files",
    "packages/pods/src/f.ts",
    'import "node:child_process";\nimport "./names.js";',
  ],
  ["the demo runs beside real sidecars", "packages/demo/src/f.ts", 'import "@trellis/dataplane/mesh";'],
  ["a CLI test serves the REST API", "packages/cli/src/f.test.ts", 'import "@trellis/api";'],
  [
    "the console holds one database client",
    "apps/web/lib/server/db.ts",
    'import "server-only";\nimport { createDb } from "@trellis/db";\nexport const d = createDb;',
  ],
  [
    "the console names the database's type",
    "apps/web/app/(console)/f.ts",
    'import type { Db } from "@trellis/db";\nexport type D = Db;',
  ],
  [
    "a console page passes db() to a service",
    "apps/web/app/(console)/f.ts",
    'import { consoleUser } from "@trellis/services";\nimport { db } from "@/lib/server/db";\nexport const u = consoleUser(db(), "id");',
  ],
  [
    "a console server module marked server-only",
    "apps/web/lib/server/f.ts",
    'import "server-only";\nexport const secret = 1;',
  ],
  ["a test imports a devDependency", "packages/services/src/f.test.ts", 'import "pg";\nimport "vitest";'],
  ["e2e imports its devDependencies anywhere", "e2e/tests/helpers.ts", 'import "@playwright/test";'],
  [
    "a bench imports its own package by name, its dependencies and devDependencies, and its siblings",
    "packages/control-plane/bench/f.mjs",
    'import "@trellis/control-plane";\nimport "pg";\nimport "@trellis/services";\nimport "@trellis/dataplane/mesh";\nimport "./fleet.mjs";',
  ],
];

describe("package boundaries", () => {
  it.each(violations)("%s: %s is refused", async (_what, path, code, rule, fragment) => {
    const problems = await lint(path, code);
    expect(problems.filter((p) => p.startsWith(`${rule}: `) && p.includes(fragment))).not.toEqual([]);
  });

  it.each(allowed)("%s: %s passes", async (_what, path, code) => {
    expect(await lint(path, code)).toEqual([]);
  });
});
