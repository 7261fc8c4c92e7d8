#!/usr/bin/env node
// A package's `build`: its TypeScript turned into JavaScript file by file (TypeScript's own transpiler, the
// same output `tsc` writes), with source maps, into dist/. Which files: tsconfig.build.json's, as `tsc -p`
// would take them. Types are not checked here and no .d.ts is written: that is the `types` task (run by
// `npm run check` and CI), which takes ~10 s a package where this takes well under one. `npm ci` and
// `npm start` only need the JavaScript, so a newcomer does not wait for the type checker.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";

// require, not import: importing this 9 MB CommonJS file from ESM makes Node scan it for exports first,
// which costs more than the whole transpile.
const ts = createRequire(import.meta.url)("typescript");

const configPath = resolve(process.argv[2] ?? "tsconfig.build.json");
const parsed = ts.getParsedCommandLineOfConfigFile(
  configPath,
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => fail([d]),
  },
);
if (!parsed) process.exit(1);
if (parsed.errors.length) fail(parsed.errors);

// transpileModule cannot read package.json, so with module NodeNext it would take every .ts for CommonJS.
// Tell it each file's format the way Node (and tsc) decide it: .mts/.cts, else the package's "type".
const options = parsed.options;
const packageType = readPackageType(dirname(configPath));
const formatOf = (file) =>
  file.endsWith(".mts") ? "esm" : file.endsWith(".cts") ? "cjs" : packageType === "module" ? "esm" : "cjs";
const outDir = options.outDir;
const rootDir = options.rootDir ?? dirname(configPath);
if (!outDir) fail([], `${configPath}: no outDir`);

let files = 0;
const problems = [];
for (const file of parsed.fileNames) {
  if (file.endsWith(".d.ts") || !/\.(ts|tsx|mts|cts)$/.test(file)) continue;
  const rel = relative(rootDir, file);
  if (rel.startsWith("..")) fail([], `${file} is outside rootDir ${rootDir}`);
  const out = join(
    outDir,
    rel
      .replace(/\.(ts|tsx)$/, ".js")
      .replace(/\.mts$/, ".mjs")
      .replace(/\.cts$/, ".cjs"),
  );
  const result = ts.transpileModule(readFileSync(file, "utf8"), {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: {
      ...options,
      module: formatOf(file) === "esm" ? ts.ModuleKind.ESNext : ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      declaration: false,
      declarationMap: false,
      noEmit: false,
    },
  });
  problems.push(...(result.diagnostics ?? []));
  mkdirSync(dirname(out), { recursive: true });
  let js = result.outputText;
  if (result.sourceMapText) {
    // transpileModule names the map after the input; point it at the file written next to the output.
    const map = JSON.parse(result.sourceMapText);
    map.file = out.split("/").pop();
    map.sources = [relative(dirname(out), file)];
    writeFileSync(`${out}.map`, JSON.stringify(map));
    js = js.replace(/\/\/# sourceMappingURL=.*$/m, `//# sourceMappingURL=${map.file}.map`);
  }
  writeFileSync(out, js);
  files++;
}
if (problems.length) fail(problems);
console.log(`${relative(process.cwd(), outDir) || "."}: ${files} files`);

function readPackageType(dir) {
  for (let d = dir; ; d = dirname(d)) {
    try {
      return JSON.parse(readFileSync(join(d, "package.json"), "utf8")).type ?? "commonjs";
    } catch (e) {
      if (e.code !== "ENOENT") throw e;
      if (dirname(d) === d) return "commonjs";
    }
  }
}

function fail(diagnostics, message) {
  const host = {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => process.cwd(),
    getNewLine: () => "\n",
  };
  if (diagnostics.length) process.stderr.write(ts.formatDiagnostics(diagnostics, host));
  if (message) process.stderr.write(`${message}\n`);
  process.exit(1);
}
