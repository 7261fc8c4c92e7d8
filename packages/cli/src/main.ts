// The `trellis` command tree. Edit when adding a command: one file per command under commands/.
import { Command, CommanderError } from "commander";
import { applyCommand } from "./commands/apply.js";
import { auditCommand } from "./commands/audit.js";
import { approveCommand, rejectCommand, rollbackCommand } from "./commands/change.js";
import { consoleCommand } from "./commands/console.js";
import { controlplaneCommand } from "./commands/controlplane.js";
import { getCommand } from "./commands/get.js";
import { proxyCommand } from "./commands/proxy.js";
import { settingsCommand } from "./commands/settings.js";
import { tokenCommand } from "./commands/token.js";
import { upCommand } from "./commands/up.js";
import { userCommand, whoamiCommand } from "./commands/user.js";
import { isUserFacing } from "./errors.js";

const program = new Command("trellis")
  .description("Trellis service mesh: run it, join proxies to it, and change its traffic safely")
  .version("0.1.0")
  // Program options only before the command: `trellis proxy --version v2` is the proxy's --version.
  .enablePositionalOptions()
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

for (const cmd of [
  upCommand(),
  proxyCommand(),
  controlplaneCommand(),
  consoleCommand(),
  tokenCommand(),
  userCommand(),
  whoamiCommand(),
  getCommand(),
  auditCommand(),
  settingsCommand(),
  applyCommand(),
  approveCommand(),
  rejectCommand(),
  rollbackCommand(),
]) {
  program.addCommand(cmd.exitOverride().showHelpAfterError("(run with --help for usage)"));
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander has printed its message (or the help/version) already.
    process.exit(e.exitCode);
  }
  if (isUserFacing(e)) {
    console.error(`trellis: ${e.message}`);
    process.exit((e as { exitCode?: number }).exitCode ?? 1);
  }
  console.error("trellis: unexpected error:", e);
  process.exit(1);
}
