// The `trellis` command tree, built without running it: main.ts parses the process's arguments with it, and
// tests parse other command lines (docker-compose.yml's) with exactly the same parser. Edit when adding a
// command: one file per command under commands/, one line here.
import { Command } from "commander";
import { applyCommand } from "./commands/apply.js";
import { auditCommand } from "./commands/audit.js";
import { approveCommand, rejectCommand, rollbackCommand } from "./commands/change.js";
import { consoleCommand } from "./commands/console.js";
import { controlplaneCommand } from "./commands/controlplane.js";
import { demoCommand } from "./commands/demo.js";
import { getCommand } from "./commands/get.js";
import { policyCommand } from "./commands/policy.js";
import { proxyCommand } from "./commands/proxy.js";
import { settingsCommand } from "./commands/settings.js";
import { tokenCommand } from "./commands/token.js";
import { upCommand } from "./commands/up.js";
import { userCommand, whoamiCommand } from "./commands/user.js";

export function buildProgram(): Command {
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
    demoCommand(),
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
    policyCommand(),
  ]) {
    program.addCommand(cmd.exitOverride().showHelpAfterError("(run with --help for usage)"));
  }
  return program;
}
