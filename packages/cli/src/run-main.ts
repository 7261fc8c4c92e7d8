// How the `trellis` executable runs a command tree: parse the arguments, run the command, and turn what it throws
// into one line and an exit code. Shared by main.ts (every command) and proxy-main.ts (`trellis proxy`, bundled).
import { CommanderError, type Command } from "commander";
import { isUserFacing } from "./errors.js";
import { t } from "./terminal.js";

export async function runMain(build: () => Promise<Command>): Promise<void> {
  try {
    const program = await build();
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
}
