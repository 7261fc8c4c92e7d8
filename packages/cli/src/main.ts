// The `trellis` executable's body: parse the arguments with the command tree (program.ts), run the command,
// and turn what it throws into one line and an exit code (run-main.ts). bin/trellis.js runs `trellis proxy`
// from the proxy's bundle instead when it is built (proxy-main.ts); this path is the same command unbundled.
import { runMain } from "./run-main.js";

await runMain(async () =>
  // `trellis proxy`: only the proxy command is loaded (proxy-program.ts says why).
  process.argv[2] === "proxy"
    ? (await import("./proxy-program.js")).buildProxyProgram()
    : (await import("./program.js")).buildProgram(),
);
