// `trellis policy suggest SERVICE -n NS`: the AccessPolicy that allows exactly the callers seen calling a
// service over a window (least privilege from observed traffic), with the evidence as a table. `-o yaml`
// prints only the resource, headed by comments that say where it came from, so it can be reviewed and fed
// to `trellis apply -f`; `-o json` prints the whole suggestion.
import { Command, InvalidArgumentError } from "commander";
import type { PolicySuggestion, SuggestedCaller } from "@trellis/contracts";
import { api, apiCommand, printTable, query, type ApiOptions, type OutputOptions } from "../api-client.js";
import { CliError } from "../errors.js";

type Flags = ApiOptions & OutputOptions & { namespace: string; window: string };

function windowArg(value: string): string {
  if (!/^\d{1,5}(m|h|d)$/.test(value))
    throw new InvalidArgumentError("must be minutes, hours or days, e.g. 30m, 24h or 7d (5m to 30d)");
  return value;
}

const STATUS_TEXT: Record<SuggestedCaller["status"], string> = {
  allowed: "allowed",
  "denied-now": "left out: refused now",
  "limited-elsewhere": "left out: limited by method/path elsewhere",
  "no-identity": "cannot allow: no mesh identity",
  unconfirmed: "left out: only its own sidecar reported it",
};

/** The resource as YAML, headed by comment lines (what it came from, and its warnings). */
export async function suggestionYaml(s: PolicySuggestion): Promise<string> {
  const { stringify } = await import("yaml");
  const head = [
    `# ${s.title}.`,
    `# Callers seen calling ${s.namespace}/${s.service} from ${s.window.from} to ${s.window.until}, allowed by`,
    "# mesh identity (telemetry records no methods or paths). Review, then: trellis apply -f FILE",
    ...s.warnings.map((w) => `# Warning: ${w}`),
  ];
  return `${head.join("\n")}\n${stringify(s.resource)}`;
}

function suggestCommand(): Command {
  return apiCommand("suggest")
    .description(
      "propose an AccessPolicy allowing exactly the callers (by identity) seen calling SERVICE in a window",
    )
    .argument("<service>", "the service to protect")
    .requiredOption("-n, --namespace <ns>", "the service's namespace")
    .option("--window <length>", "how far back to look for callers: 5m to 30d", windowArg, "24h")
    .action(async (service: string, o: Flags) => {
      const s = await api<PolicySuggestion>(
        o,
        "GET",
        `/policies/suggest${query({ namespace: o.namespace, service, window: o.window })}`,
      );
      if (o.output === "json") return void console.log(JSON.stringify(s, null, 2));
      if (o.output === "yaml") {
        for (const w of s.warnings) process.stderr.write(`warning: ${w}\n`);
        if (s.resource === null) throw new CliError(`nothing to propose for ${s.namespace}/${s.service}`);
        return void process.stdout.write(await suggestionYaml(s));
      }
      console.log(
        `Callers of ${s.namespace}/${s.service} from ${s.window.from} to ${s.window.until} (${s.window.length}):`,
      );
      printTable(
        s.callers.map((c) => ({
          caller: `${c.namespace}/${c.service}`,
          requests: String(c.requests),
          mtls: `${Math.round(c.mtlsShare * 100)}%`,
          "last seen": c.lastSeen.replace("T", " ").replace(/:\d\d\.\d+Z$/, "Z"),
          suggestion: STATUS_TEXT[c.status],
        })),
        ["caller", "requests", "mtls", "last seen", "suggestion"],
      );
      for (const w of s.warnings) console.log(`warning: ${w}`);
      if (s.resource !== null) {
        const action = s.operation?.action === "update" ? "updates" : "creates";
        console.log(
          `\nThe suggestion ${action} AccessPolicy ${s.namespace}/${s.resource.metadata.name}. See it with -o yaml; propose it with:\n  trellis policy suggest ${service} -n ${s.namespace} --window ${s.window.length} -o yaml > policy.yaml && trellis apply -f policy.yaml`,
        );
      }
    });
}

export function policyCommand(): Command {
  return new Command("policy")
    .description("policies drawn from the traffic the mesh has seen")
    .addCommand(suggestCommand().exitOverride().showHelpAfterError("(run with --help for usage)"));
}
