// One ESLint config for the whole monorepo. Edit here, not per package.
// The package boundaries (which package may import which) are in the second half, and explained in
// docs/decisions/010-enforced-boundaries.md; tools/eslint/boundaries.test.mjs shows each rule catching a
// violation. Change a boundary there and here together.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";
import trellis from "./tools/eslint/plugin.mjs";

const TESTS = ["**/*.test.ts", "**/*.test.tsx", "**/*.test.mjs", "packages/*/test/**", "**/test-support/**"];
/**
 * Benchmarks (`npm run bench`): like tests, they run beside the package, never in it, so they may import its
 * devDependencies (a real proxy, a test database) and the runtime boundaries below do not bind them.
 */
const BENCHES = ["packages/*/bench/**"];

/** `@trellis/<name>` and its subpath exports. */
const pkg = (...names) => names.flatMap((n) => [`@trellis/${n}`, `@trellis/${n}/*`]);
const NEXT = ["next", "next/*", "next-auth", "next-auth/*", "react", "react-dom", "react/*"];
const PRISMA = ["@prisma/*", "pg"];

/**
 * `no-restricted-imports` for the files of one package: `group` (import paths, gitignore-style; or a regex
 * string) may not be imported, for `why`.
 */
const forbid = (files, group, why, extra = {}, morePatterns = []) => ({
  files,
  ignores: [...TESTS, ...BENCHES],
  rules: {
    "@typescript-eslint/no-restricted-imports": [
      "error",
      {
        patterns: [
          {
            ...(typeof group === "string" ? { regex: group } : { group }),
            message: `${why} (docs/decisions/010-enforced-boundaries.md)`,
            ...extra,
          },
          ...morePatterns,
        ],
      },
    ],
  },
});

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      "**/dist/**",
      "**/.next/**",
      "**/.turbo/**",
      "**/generated/**",
      "**/next-env.d.ts",
      "e2e/test-results/**",
      "e2e/playwright-report/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": "off",
    },
  },

  // ---- Package boundaries --------------------------------------------------------------------------------
  // Every package imports only what its package.json declares (tests: devDependencies too). This also keeps
  // Turborepo's build order, which follows the declared graph, true to the code.
  {
    files: ["packages/**", "apps/**", "e2e/**", "tools/**"],
    plugins: { trellis },
    rules: {
      "trellis/declared-dependencies": ["error", { devOnlyPackages: ["@trellis/e2e", "@trellis/tools"] }],
    },
  },
  // A benchmark measures a package as its users get it: by name, through its exports (the built dist), and
  // other packages as declared dependencies. A path out of bench/ (`../dist/…`, `../../other/…`) would reach
  // what no user can import, and past the declared-dependencies check, which sees package names only.
  {
    files: BENCHES,
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^\\.\\./",
              message:
                "a bench imports its own package by name (@trellis/<package>), not by a path out of bench/ (docs/decisions/010-enforced-boundaries.md)",
            },
          ],
        },
      ],
    },
  },
  // contracts is the vocabulary everything else shares: zod, and nothing else.
  forbid(
    ["packages/contracts/**"],
    "^(?!zod(/|$)|\\.)", // anything but zod and its own files
    "contracts imports only zod: everything imports contracts, so whatever it imports, everything does",
  ),
  // The pod test bed is used by tests, the demo and the CLI, and must work under any of them: Node's
  // built-ins and its own files, nothing else (no Trellis package, no library).
  forbid(
    ["packages/pods/**"],
    "^(?!node:|\\.)", // anything but node:* and its own files
    "pods imports only Node built-ins (node:*): tests, the demo and the CLI all use it, so it can depend on none of them",
  ),
  // The sidecar learns everything from the snapshots the control plane pushes: no database, no services,
  // no console, and not the control plane itself (nor the pod bed: a proxy runs in a pod, it does not make one).
  forbid(
    ["packages/dataplane/**"],
    [...pkg("db", "services", "api", "control-plane", "cli", "demo", "web", "pods"), ...PRISMA, ...NEXT],
    "the data plane imports contracts, Node and its own few libraries; it learns the rest from its config",
    {},
    [
      {
        // The index is every contract, the API's and the console's too: a sidecar pays for what it loads.
        regex: "^@trellis/contracts$",
        allowTypeImports: true,
        message:
          "the data plane loads @trellis/contracts/proxy (or /otlp), not the whole index: types may come from the index (docs/decisions/018-sidecar-memory.md)",
      },
    ],
  ),
  // The control plane talks to proxies only over the wire. Tests start real proxies (a devDependency).
  forbid(
    ["packages/control-plane/**"],
    [...pkg("dataplane", "services", "api", "cli", "demo", "web", "pods"), ...NEXT],
    "the control plane imports contracts and db at run time; proxies are reached over the wire (tests may start one)",
  ),
  forbid(
    ["packages/db/**"],
    ["@trellis/*"],
    "db is the Prisma client and its tooling; it imports no other Trellis package",
  ),
  forbid(
    ["packages/services/**"],
    [...pkg("api", "control-plane", "dataplane", "cli", "demo", "web", "pods"), ...NEXT],
    "services is domain logic over contracts and db; the edges (api, console, CLI) call it, not the reverse",
  ),
  forbid(
    ["packages/api/**"],
    [...pkg("control-plane", "dataplane", "cli", "demo", "web", "pods"), ...NEXT],
    "api is thin tRPC/REST over services",
  ),
  forbid(
    ["packages/demo/**"],
    [...pkg("db", "services", "api", "control-plane", "cli", "web"), ...PRISMA, ...NEXT],
    "the demo's apps run beside real sidecars and know only contracts and the data plane",
  ),
  forbid(
    ["packages/cli/**"],
    [...pkg("api", "web"), ...NEXT],
    "the CLI reaches the console over REST, never by importing it (tests may use the api package)",
  ),
  // The console reaches data only through services (and api, which calls them). It holds one database
  // client, in lib/server/db.ts, to hand to services; types may be imported anywhere.
  forbid(
    ["apps/web/**"],
    [...pkg("control-plane", "dataplane", "cli", "demo", "pods"), "@trellis/db", "@trellis/db/*", ...PRISMA],
    "the console reaches data only through @trellis/services and @trellis/api; lib/server/db.ts holds the client",
    { allowTypeImports: true },
  ),
  forbid(
    ["apps/web/lib/server/db.ts"],
    [...pkg("control-plane", "dataplane", "cli", "demo"), "@trellis/db/*", ...PRISMA],
    "lib/server/db.ts creates the console's database client and nothing else",
    { allowTypeImports: true },
  ),
  {
    files: ["apps/web/**"],
    ignores: TESTS,
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          // db().user.findUnique(…): a query in the console. Pass db() to a service instead.
          selector: "MemberExpression[object.type='CallExpression'][object.callee.name='db']",
          message:
            "the console queries the database only through @trellis/services: pass db() to a service (docs/decisions/010-enforced-boundaries.md)",
        },
      ],
    },
  },
  // The console's links do not prefetch on sight (app/(console)/_components/link.tsx, decision 021).
  {
    files: ["apps/web/app/(console)/**"],
    ignores: ["apps/web/app/(console)/_components/link.tsx"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            {
              name: "next/link",
              message:
                "import Link from @/app/(console)/_components/link: the same, without prefetching every link on screen (docs/decisions/021-console-on-a-phone.md)",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["apps/web/lib/server/**"],
    ignores: TESTS,
    plugins: { trellis },
    rules: { "trellis/server-only-marker": "error" },
  },
);
