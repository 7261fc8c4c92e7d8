#!/usr/bin/env node
// The `trellis` executable. The CLI is written in TypeScript and compiled to dist/ by `npm ci` (the root
// `prepare` script) or `npm run build`; this shim only loads it, or says what to do when it is missing.
// `trellis proxy` runs from the proxy's bundle (dist/proxy.bundle.js, src/proxy-main.ts says why);
// TRELLIS_PROXY_UNBUNDLED=1 runs the same command from dist/'s modules instead (to compare, or to debug).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const bundled = process.argv[2] === "proxy" && process.env.TRELLIS_PROXY_UNBUNDLED !== "1";
const main = new URL(bundled ? "../dist/proxy.bundle.js" : "../dist/main.js", import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error(
    "trellis: the CLI is not built yet. Run `npm run build` (or `npm ci`) at the repository root.",
  );
  process.exit(1);
}
await import(main.href);
