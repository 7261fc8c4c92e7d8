// `trellis audit`: the audit log, newest first (admins; namespace admins see their namespace's events).
import { InvalidArgumentError, type Command } from "commander";
import type { AuditEvent, AuditPage } from "@trellis/contracts";
import {
  api,
  apiCommand,
  printOutput,
  printTable,
  query,
  timeArg,
  type ApiOptions,
  type OutputOptions,
} from "../api-client.js";

type Flags = ApiOptions &
  OutputOptions & {
    since?: string;
    until?: string;
    actor?: string;
    action?: string;
    namespace?: string;
    target?: string;
    limit: number;
  };

function positive(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 10_000) throw new InvalidArgumentError("must be from 1 to 10000");
  return n;
}

const PAGE = 200;

function detailsText(d: Record<string, unknown>): string {
  const s = Object.keys(d).length ? JSON.stringify(d) : "";
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function auditCommand(): Command {
  return apiCommand("audit")
    .description("show the audit log, newest first: who did what, when, from where")
    .option("--since <when>", "from this long ago (30m, 1h, 7d) or this time (ISO 8601)")
    .option("--until <when>", "up to this long ago or this time")
    .option("--actor <user>", "only what this user (or their tokens) did")
    .option("--action <action>", "only this action (role.grant) or family (role)")
    .option("-n, --namespace <ns>", "only events in this namespace")
    .option("--target <kind[/id]>", "only events about this target, e.g. User or User/<id>")
    .option("--limit <n>", "at most this many events", positive, 50)
    .action(async (o: Flags) => {
      const [targetKind, targetId] = o.target ? o.target.split("/", 2) : [undefined, undefined];
      const base = {
        since: o.since ? timeArg(o.since, "--since") : undefined,
        until: o.until ? timeArg(o.until, "--until") : undefined,
        actor: o.actor,
        action: o.action,
        namespace: o.namespace,
        targetKind,
        targetId,
      };
      // Follow the cursor until --limit events are in hand or the log ends.
      const events: AuditEvent[] = [];
      let cursor: string | undefined;
      while (events.length < o.limit) {
        const page = await api<AuditPage>(
          o,
          "GET",
          `/audit${query({ ...base, limit: Math.min(PAGE, o.limit - events.length), cursor })}`,
        );
        events.push(...page.items);
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      await printOutput(o, events, () =>
        printTable(
          events.map((e) => ({
            time: e.at.replace("T", " ").replace(/\.\d+Z$/, "Z"),
            actor:
              e.actorKind === "user" || e.actorKind === "token"
                ? e.actorName
                : `${e.actorKind}:${e.actorName}`,
            via: e.via,
            action: e.action,
            namespace: e.namespace ?? "",
            target: e.targetKind ? `${e.targetKind}/${e.targetId ?? ""}` : "",
            details: detailsText(e.details),
          })),
          ["time", "actor", "via", "action", "namespace", "target", "details"],
        ),
      );
    });
}
