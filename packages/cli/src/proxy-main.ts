// `trellis proxy`'s executable body, and the entry of the proxy's bundle (bundle-proxy.mjs writes
// dist/proxy.bundle.js from it at build time): this module and everything it loads (the proxy command, the data
// plane, @trellis/contracts/proxy, zod, undici's Pool, ws, yaml) become one tree-shaken ES module, which
// bin/trellis.js runs for `trellis proxy` (docs/decisions/018-sidecar-memory.md: idle, 7–8 MB of RSS less than
// loading the same code as a few hundred modules). main.ts runs the same program unbundled.
import { buildProxyProgram } from "./proxy-program.js";
import { runMain } from "./run-main.js";

await runMain(buildProxyProgram);
