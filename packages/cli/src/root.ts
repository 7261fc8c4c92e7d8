// The `trellis` root command, without its subcommands: program.ts adds them all, proxy-program.ts only `proxy`.
import { Command } from "commander";

export function rootCommand(): Command {
  return (
    new Command("trellis")
      .description("Trellis service mesh: run it, join proxies to it, and change its traffic safely")
      .version("0.1.0")
      // Program options only before the command: `trellis proxy --version v2` is the proxy's --version.
      .enablePositionalOptions()
      .showHelpAfterError("(run with --help for usage)")
      .exitOverride()
      .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  );
}

/** How every subcommand is added: same error handling as the root. */
export function addSubcommand(program: Command, cmd: Command): void {
  program.addCommand(cmd.exitOverride().showHelpAfterError("(run with --help for usage)"));
}
