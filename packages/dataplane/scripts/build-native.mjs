#!/usr/bin/env node
// Builds the data plane's one native addon, native/original-dst.c (SO_ORIGINAL_DST for transparent capture),
// into dist/native/original-dst.node. Part of the package's build, so `npm ci` (whose prepare step builds) and
// `npm run build` make it. Linux only: elsewhere, and when no C compiler or Node headers are found, it says so
// and the build goes on — only `trellis proxy --capture` needs the addon, and it tells the user why it is
// missing. N-API, so the headers of any Node ≥ 18 do; node-gyp is not used (it would download headers).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const source = join(root, "native", "original-dst.c");
const out = join(root, "dist", "native", "original-dst.node");

function skip(why) {
  console.warn(
    `@trellis/dataplane: not building the capture addon (${why}); \`trellis proxy --capture\` is unavailable`,
  );
  process.exit(0);
}

if (process.platform !== "linux") skip(`transparent capture is Linux-only, this is ${process.platform}`);
const candidates = [
  process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, "include", "node"),
  join(dirname(dirname(process.execPath)), "include", "node"),
  "/usr/include/node",
  "/usr/local/include/node",
].filter(Boolean);
const include = candidates.find((d) => existsSync(join(d, "node_api.h")));
if (!include) skip(`no node_api.h in ${candidates.join(", ")}`);
const cc = process.env.CC || "cc";
mkdirSync(dirname(out), { recursive: true });
const r = spawnSync(cc, ["-O2", "-Wall", "-Werror", "-shared", "-fPIC", `-I${include}`, "-o", out, source], {
  stdio: ["ignore", "inherit", "inherit"],
});
if (r.error) skip(`${cc}: ${r.error.message}`);
if (r.status !== 0) skip(`${cc} exited with ${r.status}`);
