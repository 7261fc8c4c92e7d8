// The `trellis` executable's body: parse the arguments with the command tree (program.ts), run the command,
// and turn what it throws into one line and an exit code.
import { CommanderError } from "commander";
import { isUserFacing } from "./errors.js";
import { t } from "./terminal.js";

try {
  // `trellis proxy`: only the proxy command is loaded (proxy-program.ts says why).
  const program =
    process.argv[2] === "proxy"
      ? await (await import("./proxy-program.js")).buildProxyProgram()
      : (await import("./program.js")).buildProgram();
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander has printed its message (or the help/version) already.
    process.exit(e.exitCode);
  }
  if (isUserFacing(e)) {
    // The message may carry the server's words (a problem document's detail): safe, as all output.
    console.error(t`trellis: ${e.message}`);
    process.exit((e as { exitCode?: number }).exitCode ?? 1);
  }
  console.error("trellis: unexpected error:", e);
  process.exit(1);
}
