#!/usr/bin/env node
// Part of the CLI's build: `trellis proxy`'s code (dist/proxy-main.js and everything it imports: the proxy
// command, @trellis/dataplane, @trellis/contracts/proxy, zod, undici's Pool, ws, yaml, …) bundled into one
// tree-shaken ES module, dist/proxy.bundle.js, which bin/trellis.js runs for `trellis proxy`. A sidecar runs one
// per pod, and the same code loaded as a few hundred modules costs several MB more RSS: each module record,
// its source kept by V8, zod's 68 locales that nothing uses (docs/decisions/018-sidecar-memory.md).
// Run after build-package.mjs (it bundles dist/, the JavaScript the unbundled path runs too).
import { existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { rolldown } from "rolldown";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const input = join(root, "dist", "proxy-main.js");
const out = join(root, "dist", "proxy.bundle.js");

// Code that finds files next to itself (`import.meta.url`: the capture addon, dist/native/original-dst.node)
// must still find them from the bundle: each such use is pointed at where its module was.
const fromBundle = (id) => relative(dirname(out), id);

/** `import.meta.url` of a bundled module → the URL of the file it came from, relative to the bundle. */
const keepModuleUrls = {
  name: "keep-module-urls",
  transform(code, id) {
    if (!code.includes("import.meta.url") || !existsSync(id)) return null;
    // The data plane loads undici's Pool alone through createRequire (pools.ts): bundle it instead.
    let js = code.replace(
      /const require = createRequire\(import\.meta\.url\);\n(const Pool = require\("undici\/lib\/dispatcher\/pool\.js"\))/,
      "$1",
    );
    js = js.replaceAll("import.meta.url", `new URL(${JSON.stringify(fromBundle(id))}, import.meta.url).href`);
    return { code: js, map: null };
  },
};

const bundle = await rolldown({
  input,
  platform: "node",
  plugins: [keepModuleUrls],
  // ws loads these optional native helpers when installed (they are not: ws falls back to JavaScript).
  external: ["bufferutil", "utf-8-validate"],
  logLevel: "warn",
});
const { output } = await bundle.write({
  file: out,
  format: "esm",
  codeSplitting: false,
  minify: true,
  // ASCII only: V8 keeps a script's source in the heap, as two bytes a character when any character is not Latin-1.
  charset: "ascii",
  sourcemap: true,
});
await bundle.close();
console.log(`${relative(process.cwd(), out)}: ${(output[0].code.length / 1024).toFixed(0)} KB`);
