#!/usr/bin/env node
// The `trellis` executable. The CLI is written in TypeScript and compiled to dist/ by `npm ci` (the root
// `prepare` script) or `npm run build`; this shim only loads it, or says what to do when it is missing.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const main = new URL("../dist/main.js", import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error(
    "trellis: the CLI is not built yet. Run `npm run build` (or `npm ci`) at the repository root.",
  );
  process.exit(1);
}
await import(main.href);
