// The `trellis` command tree, built without running it: main.ts parses the process's arguments with it, and
// tests parse other command lines (docker-compose.yml's) with exactly the same parser. Edit when adding a
// command: one file per command under commands/, one line here. `trellis proxy` is parsed by proxy-program.ts
// instead (the same root and the same proxy command, without loading the others).
import type { Command } from "commander";
import { applyCommand } from "./commands/apply.js";
import { auditCommand } from "./commands/audit.js";
import { approveCommand, rejectCommand, rollbackCommand } from "./commands/change.js";
import { consoleCommand } from "./commands/console.js";
import { controlplaneCommand } from "./commands/controlplane.js";
import { demoCommand } from "./commands/demo.js";
import { getCommand } from "./commands/get.js";
import { policyCommand } from "./commands/policy.js";
import { proxyCommand } from "./commands/proxy.js";
import { addSubcommand, rootCommand } from "./root.js";
import { settingsCommand } from "./commands/settings.js";
import { tokenCommand } from "./commands/token.js";
import { upCommand } from "./commands/up.js";
import { userCommand, whoamiCommand } from "./commands/user.js";

export function buildProgram(): Command {
  const program = rootCommand();
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
    addSubcommand(program, cmd);
  }
  return program;
}
