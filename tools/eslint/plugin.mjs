// Trellis's own ESLint rules: the package boundaries that `no-restricted-imports` cannot say on its own.
// eslint.config.mjs turns them on; tools/eslint/boundaries.test.mjs shows each one catching a violation.
// When to edit this file: when a boundary needs to know something about the file or its package (its
// package.json, whether it is a test) that a glob in eslint.config.mjs cannot express.
import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, sep } from "node:path";

const builtins = new Set(builtinModules);

/** Test-only files, and benchmarks (`bench/`): they may import the package's devDependencies. */
export const DEV_FILE =
  /\.test\.[cm]?[jt]sx?$|^[\\/](?:test|bench)[\\/]|[\\/]test-support[\\/]|(?:vitest|playwright)\.config\.[cm]?[jt]s$/;

const manifests = new Map();
/** The package.json nearest to `dir` (cached per directory: ESLint runs a rule once per file). */
function manifestFor(dir) {
  if (manifests.has(dir)) return manifests.get(dir);
  let found = null;
  const file = join(dir, "package.json");
  if (existsSync(file)) {
    const pkg = JSON.parse(readFileSync(file, "utf8"));
    found = {
      name: pkg.name,
      dir,
      deps: new Set(
        Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies }),
      ),
      devDeps: new Set(Object.keys(pkg.devDependencies ?? {})),
    };
  } else if (dirname(dir) !== dir) {
    found = manifestFor(dirname(dir));
  }
  manifests.set(dir, found);
  return found;
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`; null for relative, absolute, `node:` and `@/` paths. */
export function packageOf(specifier) {
  if (/^(\.|\/|node:|@\/)/.test(specifier)) return null;
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
  return builtins.has(name) ? null : name;
}

const typeOnly = (node) =>
  node.importKind === "type" ||
  node.exportKind === "type" ||
  (node.specifiers?.length > 0 &&
    node.specifiers.every((s) => s.importKind === "type" || s.exportKind === "type"));

/**
 * A package imports only what its package.json declares: `dependencies` from code that runs, and also
 * `devDependencies` from tests and from type-only imports. npm workspaces hoist every package into the root
 * node_modules, so an undeclared import works here and breaks for whoever installs the package alone (and
 * Turborepo, which orders builds by the declared graph, may build the importer first).
 */
const declaredDependencies = {
  meta: {
    type: "problem",
    docs: { description: "imports must be declared in the importing package's package.json" },
    // devOnlyPackages: packages that are all tests (e2e): every file may import their devDependencies.
    schema: [
      {
        type: "object",
        properties: { devOnlyPackages: { type: "array", items: { type: "string" } } },
        additionalProperties: false,
      },
    ],
    messages: {
      undeclared: "{{name}} is not in {{pkg}}'s dependencies{{dev}}: declare it in {{manifest}}",
    },
  },
  create(context) {
    const file = context.filename;
    const manifest = manifestFor(dirname(file));
    if (!manifest) return {};
    const devOnly = context.options[0]?.devOnlyPackages ?? [];
    const devFile = devOnly.includes(manifest.name) || DEV_FILE.test(file.slice(manifest.dir.length));
    const check = (node) => {
      const source = node.source;
      if (!source || source.type !== "Literal" || typeof source.value !== "string") return;
      const name = packageOf(source.value);
      if (!name || name === manifest.name || manifest.deps.has(name)) return;
      if ((devFile || typeOnly(node)) && manifest.devDeps.has(name)) return;
      context.report({
        node: source,
        messageId: "undeclared",
        data: {
          name,
          pkg: manifest.name,
          dev: manifest.devDeps.has(name) ? " (only in devDependencies, and this is not a test file)" : "",
          manifest: join(manifest.dir, "package.json").split(sep).slice(-3).join("/"),
        },
      });
    };
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};

/**
 * A console server module opens with `import "server-only"`: a client component that imports it (or anything
 * that does) then fails `next build`, instead of bundling the database client and the session secret for the
 * browser.
 */
const serverOnlyMarker = {
  meta: {
    type: "problem",
    docs: { description: 'server modules import "server-only"' },
    schema: [],
    messages: {
      missing: 'a server module imports "server-only" (first line), so no client component can import it',
    },
  },
  create(context) {
    return {
      Program(program) {
        const marked = program.body.some(
          (s) =>
            s.type === "ImportDeclaration" && s.source.value === "server-only" && s.specifiers.length === 0,
        );
        if (!marked) context.report({ node: program, loc: { line: 1, column: 0 }, messageId: "missing" });
      },
    };
  },
};

export default {
  meta: { name: "trellis" },
  rules: { "declared-dependencies": declaredDependencies, "server-only-marker": serverOnlyMarker },
};
