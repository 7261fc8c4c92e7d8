import { Command } from "commander";
import { CliError } from "../errors.js";

export function applyCommand(): Command {
  return new Command("apply")
    .description("propose the resources in a YAML file as a change request")
    .requiredOption("-f, --file <path>", "YAML file with one or more resources (use - for standard input)")
    .option("--wait", "wait until the change is applied and acknowledged by the proxies", false)
    .action(() => {
      throw new CliError(
        "`trellis apply` needs the change-request API, which this version does not have yet",
      );
    });
}
