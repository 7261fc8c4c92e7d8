// Change requests from the terminal: `trellis approve|reject|rollback ID` and the views that `trellis get
// change(s)` and `apply` print. ID is a change's id or its number (`42` or `#42`).
import type { Command } from "commander";
import type { Change, ChangeList, ChangeSummary, ResourceDetail, ResourceList } from "@trellis/contracts";
import {
  api,
  apiCommand,
  printOutput,
  printTable,
  query,
  segment,
  type ApiOptions,
  type OutputOptions,
} from "../api-client.js";
import { CliError } from "../errors.js";
import { t } from "../terminal.js";

type Common = ApiOptions & OutputOptions & { namespace?: string };

export const changeId = (id: string) => segment(id.replace(/^#/, ""));

export const approvalsText = (c: Pick<ChangeSummary, "approvalCount" | "requiredApprovals">) =>
  `${c.approvalCount}/${c.requiredApprovals} approval${c.requiredApprovals === 1 ? "" : "s"}`;

const when = (iso: string | null) => (iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "-");

/** A change as people read it: what, who, state, operations with their problems, approvals, rollout. */
export function printChange(c: Change): void {
  const lines = [
    t`#${c.number} ${c.title}`,
    t`id:        ${c.id}`,
    t`status:    ${c.status}${c.rollbackOf ? t` (rolls back #${c.rollbackOf.number})` : ""}`,
    t`author:    ${c.author} via ${c.source}, ${when(c.createdAt)}`,
    t`approvals: ${approvalsText(c)}`,
  ];
  if (c.fastTrackReason) lines.push(t`fast-tracked: ${c.fastTrackReason}`);
  if (c.appliedAt) lines.push(t`applied:   ${when(c.appliedAt)}`);
  if (c.rolledBackBy.length)
    lines.push(t`rolled back by: ${c.rolledBackBy.map((r) => t`#${r.number}`).join(", ")}`);
  if (c.description) lines.push("", ...c.description.split("\n").map((l) => t`  ${l}`));
  lines.push("", "operations:");
  for (const op of c.operations) {
    lines.push(
      t`  ${op.index}. ${op.action} ${op.kind} ${op.namespace}/${op.name}${op.baseRevision ? t` (from revision ${op.baseRevision})` : ""}${op.stale ? "  STALE" : ""}`,
    );
    for (const e of op.errors) lines.push(t`     error: ${e.path}: ${e.message}`);
    for (const w of op.warnings) lines.push(t`     warning: ${w.path}: ${w.message}`);
  }
  if (c.approvals.length) {
    lines.push("", "reviews:");
    for (const a of c.approvals)
      lines.push(
        t`  ${a.decision === "approve" ? "approved" : "rejected"} by ${a.user}, ${when(a.createdAt)}${a.comment ? t`: ${a.comment}` : ""}`,
      );
  }
  const r = c.rollout;
  lines.push(
    "",
    r.generation === null
      ? "rollout:   not applied"
      : t`rollout:   generation ${r.generation}, ${r.state}: ${r.acked} acked, ${r.nacked} nacked, ${r.pending} pending of ${r.total}`,
  );
  for (const p of r.proxies.filter((x) => x.state !== "acked"))
    lines.push(
      t`  ${p.state} ${p.namespace}/${p.service} ${p.version} ${p.address}${p.reason ? t`: ${p.reason}` : ""}`,
    );
  console.log(lines.join("\n"));
}

export async function getChange(o: Common, id: string | undefined): Promise<void> {
  if (!id) throw new CliError("which change? `trellis get change ID` (an id or a number)");
  const c = await api<Change>(o, "GET", `/changes/${changeId(id)}`);
  await printOutput(o, c, () => printChange(c));
}

export async function getChanges(o: Common & { status?: string }, id: string | undefined): Promise<void> {
  if (id) return getChange(o, id);
  const { items } = await api<ChangeList>(
    o,
    "GET",
    `/changes${query({ namespace: o.namespace, status: o.status })}`,
  );
  await printOutput(o, items, () =>
    printTable(
      items.map((c) => ({
        "#": String(c.number),
        status: c.status,
        title: c.title.length > 50 ? `${c.title.slice(0, 47)}...` : c.title,
        author: c.author,
        approvals: `${c.approvalCount}/${c.requiredApprovals}`,
        namespaces: c.namespaces.join(",") || "-",
        updated: when(c.updatedAt),
      })),
      ["#", "status", "title", "author", "approvals", "namespaces", "updated"],
    ),
  );
}

export async function getResources(o: Common & { kind?: string }, name: string | undefined): Promise<void> {
  let { items } = await api<ResourceList>(
    o,
    "GET",
    `/resources${query({ namespace: o.namespace, kind: o.kind })}`,
  );
  if (name) {
    items = items.filter((r) => r.name === name);
    if (items.length === 0)
      throw new CliError(`no resource named "${name}"${o.namespace ? ` in namespace ${o.namespace}` : ""}`);
    if (items.length === 1) {
      const r = items[0]!;
      const detail = await api<ResourceDetail>(
        o,
        "GET",
        `/resources/${r.kind}/${r.namespace}/${segment(r.name)}`,
      );
      return printOutput(o, detail, () => {
        console.log(
          t`${detail.kind} ${detail.namespace}/${detail.name}, revision ${detail.revision}, updated ${when(detail.updatedAt)}`,
        );
        console.log(JSON.stringify(detail.spec, null, 2));
      });
    }
  }
  await printOutput(o, items, () =>
    printTable(
      items.map((r) => ({
        kind: r.kind,
        namespace: r.namespace,
        name: r.name,
        revision: String(r.revision),
        updated: when(r.updatedAt),
      })),
      ["kind", "namespace", "name", "revision", "updated"],
    ),
  );
}

function decisionCommand(verb: "approve" | "reject"): Command {
  return apiCommand(verb)
    .description(
      verb === "approve"
        ? "approve someone else's change request (approvers)"
        : "reject a change request (approvers)",
    )
    .argument("<id>", "the change's id or number")
    .option("-m, --comment <text>", "why; shown with your decision")
    .action(async (id: string, o: Common & { comment?: string }) => {
      const c = await api<Change>(
        o,
        "POST",
        `/changes/${changeId(id)}/${verb}`,
        o.comment ? { comment: o.comment } : {},
      );
      await printOutput(o, c, () =>
        console.error(
          `trellis: ${verb === "approve" ? "approved" : "rejected"} #${c.number}: now ${c.status} (${approvalsText(c)})`,
        ),
      );
    });
}

export function approveCommand(): Command {
  return decisionCommand("approve");
}
export function rejectCommand(): Command {
  return decisionCommand("reject");
}

export function rollbackCommand(): Command {
  return apiCommand("rollback")
    .description("propose a change that restores what an applied change replaced (itself reviewed)")
    .argument("<id>", "the applied change's id or number")
    .option("--title <text>", 'title (default "Roll back #N: …")')
    .option("-m, --comment <text>", "why: the rollback's description")
    .option("--fast-track <reason>", "admins: apply at once without approvals; the reason is recorded")
    .action(async (id: string, o: Common & { title?: string; comment?: string; fastTrack?: string }) => {
      const c = await api<Change>(o, "POST", `/changes/${changeId(id)}/rollback`, {
        ...(o.title ? { title: o.title } : {}),
        ...(o.comment ? { description: o.comment } : {}),
        ...(o.fastTrack ? { fastTrackReason: o.fastTrack } : {}),
      });
      await printOutput(o, c, () => {
        console.log(`#${c.number} ${c.id}`);
        console.error(
          `trellis: opened rollback #${c.number} "${c.title}": ${c.status} (${approvalsText(c)})`,
        );
      });
    });
}
