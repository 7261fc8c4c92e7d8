// `trellis demo fail SERVICE VERSION --percent P [--latency D]`: the demo's fault switch (decision 023). Makes a
// demo workload answer P % of requests with an error (gRPC: UNAVAILABLE) and/or late, until `--percent 0`;
// without flags it shows the faults in force. Through the REST API, as editors of the namespace (reading:
// viewers); `trellis up --demo` applies what is set to its apps within a second.
import type { Command } from "commander";
import {
  describeDemoFault,
  formatDuration,
  formatIssues,
  ZDemoFaultSet,
  zodIssues,
  type DemoFaultList,
} from "@trellis/contracts";
import {
  api,
  apiCommand,
  printOutput,
  printTable,
  query,
  type ApiOptions,
  type OutputOptions,
} from "../api-client.js";
import { CliError } from "../errors.js";

interface FailOptions extends ApiOptions, OutputOptions {
  namespace: string;
  percent?: string;
  latency?: string;
}

function printFaults(list: DemoFaultList): void {
  if (list.items.length === 0) return void console.log("no demo workload is failing on purpose");
  printTable(
    list.items.map((f) => ({
      namespace: f.namespace,
      service: f.service,
      version: f.version,
      errors: `${f.percent} %`,
      latency: f.latencyMs > 0 ? `+${formatDuration(f.latencyMs)}` : "",
    })),
    ["namespace", "service", "version", "errors", "latency"],
  );
}

export function demoFailCommand(): Command {
  return apiCommand("fail")
    .description(
      "make a demo workload answer a share of requests with 500 (gRPC: UNAVAILABLE) and/or late, to watch a rollout roll back; without flags, show the faults in force",
    )
    .argument("[service]", "the demo service, e.g. reviews")
    .argument("[version]", "its version, e.g. v2")
    .option("-n, --namespace <namespace>", "the workload's namespace", "demo")
    .option(
      "--percent <p>",
      "share of requests answered with an error, 0–100 (one decimal at most); 0 clears",
    )
    .option("--latency <duration>", "added before every answer, e.g. 200ms, 2s (at most 30s)")
    .addHelpText(
      "after",
      `
Examples:
  trellis demo fail reviews v2 --percent 50           half of reviews v2's answers are 500s
  trellis demo fail reviews v2 --percent 0 --latency 1s   no errors, every answer a second late
  trellis demo fail reviews v2 --percent 0            back to normal
  trellis demo fail                                   what is failing now (-o json too)
Works on the demo \`trellis up --demo\` runs (in-process or --pods); needs an editor of the namespace.`,
    )
    .action(async (service: string | undefined, version: string | undefined, o: FailOptions) => {
      if (o.percent === undefined && o.latency === undefined) {
        if (service !== undefined)
          throw new CliError("give --percent (and/or --latency) to set a fault; no arguments lists them");
        const list = await api<DemoFaultList>(o, "GET", `/demo/faults${query({ namespace: o.namespace })}`);
        return printOutput(o, list, () => printFaults(list));
      }
      if (service === undefined || version === undefined)
        throw new CliError("name the workload: trellis demo fail SERVICE VERSION --percent P");
      // The API's own schema, so a typo is refused here with the same words (and path) the API would use.
      const parsed = ZDemoFaultSet.safeParse({
        namespace: o.namespace,
        service,
        version,
        percent: o.percent === undefined ? 0 : /^\s*$/.test(o.percent) ? NaN : Number(o.percent),
        ...(o.latency !== undefined ? { latency: o.latency } : {}),
      });
      if (!parsed.success) throw new CliError(formatIssues(zodIssues(parsed.error)));
      const list = await api<DemoFaultList>(o, "PUT", "/demo/faults", parsed.data);
      await printOutput(o, list, () => {
        const mine = list.items.find((f) => f.service === service && f.version === version);
        console.log(
          mine ? `failing: ${describeDemoFault(mine)}` : `${service} ${version} answers normally again`,
        );
      });
    });
}
