// `trellis policy suggest SERVICE -n NS`: the AccessPolicy that allows exactly the callers seen calling a
// service over a window (least privilege from observed traffic), with the evidence as a table. `-o yaml`
// prints only the resource, headed by comments that say where it came from, so it can be reviewed and fed
// to `trellis apply -f`; `-o json` prints the whole suggestion.
import { Command, InvalidArgumentError } from "commander";
import type { PolicySuggestion, SuggestedCaller } from "@trellis/contracts";
import { api, apiCommand, printTable, query, type ApiOptions, type OutputOptions } from "../api-client.js";
import { CliError } from "../errors.js";

type Flags = ApiOptions &
  OutputOptions & { namespace: string; window: string; methods?: boolean; paths?: boolean };

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

const GRANULARITY_TEXT: Record<PolicySuggestion["granularity"], string> = {
  identity: "",
  methods: " and the methods each was observed using",
  paths: " and the path prefixes each was observed calling",
  "methods-and-paths": " and the methods and path prefixes each was observed with",
};

/** The resource as YAML, headed by comment lines (what it came from, and its warnings). */
export async function suggestionYaml(s: PolicySuggestion): Promise<string> {
  const { stringify } = await import("yaml");
  const head = [
    `# ${s.title}.`,
    `# Callers seen calling ${s.namespace}/${s.service} from ${s.window.from} to ${s.window.until}, allowed by`,
    `# mesh identity${GRANULARITY_TEXT[s.granularity]}. Review, then: trellis apply -f FILE`,
    ...s.warnings.map((w) => `# Warning: ${w}`),
  ];
  return `${head.join("\n")}\n${stringify(s.resource)}`;
}

function suggestCommand(): Command {
  return apiCommand("suggest")
    .description(
      "propose an AccessPolicy allowing exactly the callers (by identity, optionally by method and path prefix) seen calling SERVICE in a window",
    )
    .argument("<service>", "the service to protect")
    .requiredOption("-n, --namespace <ns>", "the service's namespace")
    .option("--window <length>", "how far back to look for callers: 5m to 30d", windowArg, "24h")
    .option("--methods", "allow each caller only the methods it was observed using")
    .option(
      "--paths",
      "allow each caller only the path prefixes (first segment, /api/*) it was observed calling",
    )
    .action(async (service: string, o: Flags) => {
      const s = await api<PolicySuggestion>(
        o,
        "GET",
        `/policies/suggest${query({
          namespace: o.namespace,
          service,
          window: o.window,
          ...(o.methods ? { methods: "true" } : {}),
          ...(o.paths ? { paths: "true" } : {}),
        })}`,
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
          observed:
            c.observed === undefined
              ? ""
              : `${c.observed.methods.join(",")} ${c.observed.paths.join(",")}${c.observed.complete ? "" : ` (${c.observed.requests} of ${c.requests}: by identity)`}`.trim(),
        })),
        [
          "caller",
          "requests",
          "mtls",
          "last seen",
          "suggestion",
          ...(s.callers.some((c) => c.observed) ? ["observed"] : []),
        ],
      );
      for (const w of s.warnings) console.log(`warning: ${w}`);
      if (s.resource !== null) {
        const action = s.operation?.action === "update" ? "updates" : "creates";
        const flags = `${o.methods ? " --methods" : ""}${o.paths ? " --paths" : ""}`;
        console.log(
          `\nThe suggestion ${action} AccessPolicy ${s.namespace}/${s.resource.metadata.name}. See it with -o yaml; propose it with:\n  trellis policy suggest ${service} -n ${s.namespace} --window ${s.window.length}${flags} -o yaml > policy.yaml && trellis apply -f policy.yaml`,
        );
      }
    });
}

export function policyCommand(): Command {
  return new Command("policy")
    .description("policies drawn from the traffic the mesh has seen")
    .addCommand(suggestCommand().exitOverride().showHelpAfterError("(run with --help for usage)"));
}
