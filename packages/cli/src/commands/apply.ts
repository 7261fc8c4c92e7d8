// `trellis apply -f FILE`: proposes the resources in a YAML file as one change request (the file's text is
// posted as is; the server parses and validates it, so errors name `operations[0].spec…` paths). With
// --wait, follows the change until it is applied and acknowledged by the proxies, or ends otherwise; the
// exit code says how (see EXIT below).
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";
import type { Change, ProxyList } from "@trellis/contracts";
import { api, apiCommand, printOutput, query, type ApiOptions, type OutputOptions } from "../api-client.js";
import { CliError } from "../errors.js";
import { t } from "../terminal.js";
import { approvalsText, printChange } from "./change.js";

/** How `apply --wait` ends. Scripts branch on these. */
export const EXIT = {
  applied: 0,
  rejected: 2,
  stale: 3,
  failed: 4,
  cancelled: 5,
  timeout: 6,
} as const;

type Flags = ApiOptions &
  OutputOptions & {
    file: string;
    wait: boolean;
    title?: string;
    description?: string;
    timeout: number;
  };

function duration(value: string): number {
  const m = /^(\d{1,6})(s|m|h)$/.exec(value);
  if (!m) throw new InvalidArgumentError("must be a duration such as 90s, 10m or 1h");
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[m[2] as "s" | "m" | "h"];
}

async function readInput(file: string): Promise<string> {
  if (file === "-") {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new CliError(`cannot read ${file}: ${code === "ENOENT" ? "no such file" : (code ?? String(e))}`);
  }
}

/** A title from the documents' kinds and names, when --title is not given. */
async function defaultTitle(text: string, file: string): Promise<string> {
  const from = file === "-" ? "standard input" : basename(file);
  let names: string[] = [];
  try {
    const { parseAllDocuments } = await import("yaml");
    names = parseAllDocuments(text).flatMap((d) => {
      const v = d.toJS() as { kind?: unknown; metadata?: { name?: unknown } } | null;
      return v && typeof v.kind === "string" && typeof v.metadata?.name === "string"
        ? [`${v.kind} ${v.metadata.name}`]
        : [];
    });
  } catch {
    // Not YAML we can read: the server will say what is wrong with it.
  }
  if (names.length === 0) return `Apply ${from}`;
  const shown = names.slice(0, 3).join(", ") + (names.length > 3 ? ` and ${names.length - 3} more` : "");
  return `Apply ${shown}`.slice(0, 200);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the change until it is done; returns the exit code. Progress goes to stderr, once per new state. */
async function waitFor(o: Flags, first: Change): Promise<{ code: number; change: Change }> {
  const deadline = Date.now() + o.timeout;
  let change = first;
  let said = "";
  let appliedSeenAt = 0;
  const say = (line: string) => {
    if (line !== said) console.error(t`trellis: #${change.number} ${line}`);
    said = line;
  };
  for (let delay = 500; ; delay = Math.min(delay * 1.5, 3_000)) {
    const r = change.rollout;
    switch (change.status) {
      case "open":
      case "approved":
        say(`waiting for approval (${approvalsText(change)})`);
        break;
      case "applying":
        say("applying");
        break;
      case "applied":
      case "rolled_back": {
        if (r.state === "failed") {
          const why = r.proxies.find((p) => p.state === "nacked");
          say(
            `refused by ${r.nacked} of ${r.total} proxies${why ? ` (${why.service} ${why.version}: ${why.reason ?? "no reason given"})` : ""}`,
          );
          return { code: EXIT.failed, change };
        }
        if (r.state === "complete") {
          say(`applied, acknowledged by all ${r.total} proxies`);
          return { code: EXIT.applied, change };
        }
        if (r.total > 0) say(`applied, rollout ${r.acked}/${r.total} acknowledged`);
        else {
          // No proxy has reported this generation yet. If no proxy is connected where the change applies,
          // none ever will: the change is done. Otherwise the control plane has yet to push it.
          appliedSeenAt ||= Date.now();
          const { items } = await api<ProxyList>(o, "GET", `/proxies${query({})}`);
          const affected = items.filter(
            (p) =>
              p.status === "connected" &&
              (change.namespaces.length === 0 || change.namespaces.includes(p.namespace)),
          );
          if (affected.length === 0 && Date.now() - appliedSeenAt > 2_000) {
            say("applied; no connected proxy to acknowledge it");
            return { code: EXIT.applied, change };
          }
          say(`applied (generation ${r.generation ?? "?"}), waiting for the proxies`);
        }
        break;
      }
      case "rejected": {
        const last = [...change.approvals].reverse().find((a) => a.decision === "reject");
        say(`rejected${last ? ` by ${last.user}${last.comment ? `: ${last.comment}` : ""}` : ""}`);
        return { code: EXIT.rejected, change };
      }
      case "stale":
        say("is stale: a resource changed since it was proposed; rebase it (console) or apply again");
        return { code: EXIT.stale, change };
      case "failed":
        say("failed to apply");
        return { code: EXIT.failed, change };
      case "cancelled":
        say("was cancelled");
        return { code: EXIT.cancelled, change };
    }
    if (Date.now() + delay > deadline) {
      say(`still ${change.status} after --timeout; stopped waiting (the change goes on)`);
      return { code: EXIT.timeout, change };
    }
    await sleep(delay);
    change = await api<Change>(o, "GET", `/changes/${change.id}`);
  }
}

export function applyCommand(): Command {
  return apiCommand("apply")
    .summary("propose the resources in a YAML file as a change request")
    .description(
      "propose the resources in a YAML file as one change request; prints its number\n" +
        "with --wait, exits " +
        Object.entries(EXIT)
          .map(([k, v]) => `${v} ${k}`)
          .join(", "),
    )
    .requiredOption("-f, --file <path>", "YAML file with one or more resources (use - for standard input)")
    .option("--title <text>", "title of the change request (default: from the resources)")
    .option("--description <text>", "why: shown to reviewers")
    .option("--wait", "wait until the change is applied and acknowledged by the proxies", false)
    .addOption(
      new Option("--timeout <duration>", "with --wait: give up after this long (90s, 10m, 1h)")
        .argParser(duration)
        .default(30 * 60_000, "30m"),
    )
    .action(async (o: Flags) => {
      const yaml = await readInput(o.file);
      if (!yaml.trim()) throw new CliError(`${o.file === "-" ? "standard input" : o.file} is empty`);
      const change = await api<Change>(o, "POST", "/changes", {
        title: o.title ?? (await defaultTitle(yaml, o.file)),
        yaml,
        ...(o.description ? { description: o.description } : {}),
      });
      const structured = o.output === "json" || o.output === "yaml";
      if (!structured) {
        console.log(`#${change.number} ${change.id}`);
        console.error(
          t`trellis: opened change #${change.number} "${change.title}" (${change.operationCount} operation${change.operationCount === 1 ? "" : "s"}, ${approvalsText(change)})`,
        );
        for (const w of change.validation.warnings)
          console.error(t`trellis: warning: ${w.path}: ${w.message}`);
      }
      if (!o.wait) return structured ? printOutput(o, change, () => {}) : undefined;
      const { code, change: last } = await waitFor(o, change);
      if (structured) await printOutput(o, last, () => printChange(last));
      process.exitCode = code;
    });
}
