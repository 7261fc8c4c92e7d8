// Reading change requests: the row with what the API shows of it (summary, detail with diff and validation,
// rollout). Permission checks stay in the verbs (changes.ts); these functions only read.
import type { Change, ChangeSummary, Rollout } from "@trellis/contracts";
import type { Db, Prisma } from "@trellis/db";
import { readableNamespaces, type Actor } from "../actor.js";
import { AppError } from "../errors.js";
import { loadApprovalRule, tallyApprovals, type ApprovalTally } from "./approval-rule.js";
import { loadMeshView, validatePlan } from "./mesh-view.js";
import { keyOf, namespacesOf, type PlannedOp, type Spec } from "./plan.js";

export const CHANGE_INCLUDE = {
  author: { select: { name: true } },
  operations: { orderBy: { index: "asc" } },
  approvals: { orderBy: { createdAt: "asc" }, include: { user: { select: { name: true } } } },
  rollbackOf: { select: { id: true, number: true, title: true } },
  rollbacks: { select: { id: true, number: true, title: true }, orderBy: { number: "asc" } },
  generations: { select: { id: true, number: true }, orderBy: { number: "desc" }, take: 1 },
} satisfies Prisma.ChangeRequestInclude;

export type ChangeRow = Prisma.ChangeRequestGetPayload<{ include: typeof CHANGE_INCLUDE }>;

/** Statuses in which the change may still be applied: its validation is computed against the mesh now. */
export const PENDING_STATUSES = new Set(["open", "approved", "stale"]);

/** A change by id, or by number (`42` or `#42`). */
export async function findChange(db: Db, id: string): Promise<ChangeRow> {
  const m = /^#?(\d{1,9})$/.exec(id.trim());
  const row = m
    ? await db.changeRequest.findUnique({ where: { number: Number(m[1]) }, include: CHANGE_INCLUDE })
    : await db.changeRequest.findUnique({ where: { id }, include: CHANGE_INCLUDE });
  if (!row) throw new AppError("NOT_FOUND", `no change request ${id}`);
  return row;
}

export function storedOps(row: Pick<ChangeRow, "operations">): PlannedOp[] {
  return row.operations.map((o) => ({
    action: o.action,
    kind: o.kind,
    namespace: o.namespace,
    name: o.name,
    spec: (o.spec as Spec | null) ?? null,
    baseRevision: o.baseRevision,
  }));
}

/** Summaries of many changes, the pending ones tallied under the approvals rule in force (two queries). */
export async function toSummaries(db: Db, rows: readonly ChangeRow[]): Promise<ChangeSummary[]> {
  const pending = rows.filter((r) => PENDING_STATUSES.has(r.status));
  const tally = await loadApprovalRule(db, pending);
  return rows.map((r) => toSummary(r, PENDING_STATUSES.has(r.status) ? tally(r) : null));
}

export function changeNamespaces(row: Pick<ChangeRow, "operations">): string[] {
  return namespacesOf(row.operations);
}

/**
 * A change as lists show it. `tally`: the approvals rule applied now (approval-rule.ts), for a change that may
 * still be applied; a finished change shows what it was decided with.
 */
export function toSummary(row: ChangeRow, tally: ApprovalTally | null): ChangeSummary {
  return {
    id: row.id,
    number: row.number,
    title: row.title,
    status: row.status,
    source: row.source,
    author: row.author.name,
    namespaces: changeNamespaces(row),
    operationCount: row.operations.length,
    requiredApprovals: tally?.required ?? row.requiredApprovals,
    approvalCount: tally?.counted ?? row.approvals.filter((a) => a.decision === "approve").length,
    rollbackOf: row.rollbackOf,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    appliedAt: row.appliedAt ? row.appliedAt.toISOString() : null,
  };
}

/**
 * Revisions in force now, and the spec each operation's base revision had (the left side of the diff), in
 * two queries. A base revision missing from the history (a resource written outside change requests) falls
 * back to the resource in force when its revision matches.
 */
export async function loadRevisions(
  db: Db,
  ops: readonly PlannedOp[],
): Promise<{ current: Map<string, number>; baseSpec: Map<string, Spec | null> }> {
  if (ops.length === 0) return { current: new Map(), baseSpec: new Map() };
  const keys = ops.map((o) => ({ kind: o.kind, namespace: o.namespace, name: o.name }));
  const withBase = ops.filter((o) => o.baseRevision !== null);
  const [rows, revs] = await Promise.all([
    db.resource.findMany({
      where: { OR: keys },
      select: { kind: true, namespace: true, name: true, revision: true, spec: true },
    }),
    withBase.length > 0
      ? db.resourceRevision.findMany({
          where: {
            OR: withBase.map((o) => ({
              kind: o.kind,
              namespace: o.namespace,
              name: o.name,
              revision: o.baseRevision!,
            })),
          },
          select: { kind: true, namespace: true, name: true, revision: true, spec: true },
        })
      : Promise.resolve([]),
  ]);
  const current = new Map(rows.map((r) => [keyOf(r), r.revision]));
  const baseSpec = new Map<string, Spec | null>();
  for (const r of revs) baseSpec.set(`${keyOf(r)}@${r.revision}`, (r.spec as Spec | null) ?? null);
  for (const r of rows) {
    const k = `${keyOf(r)}@${r.revision}`;
    if (!baseSpec.has(k)) baseSpec.set(k, r.spec as Spec);
  }
  return { current, baseSpec };
}

/** The change's page: operations with both sides of the diff, validation, approvals and rollout. */
export async function toChange(db: Db, actor: Actor, row: ChangeRow): Promise<Change> {
  const ops = storedOps(row);
  const pending = PENDING_STATUSES.has(row.status);
  const [{ current, baseSpec }, view, tally] = await Promise.all([
    loadRevisions(db, ops),
    // Only a change that may still be applied is judged against the mesh as it is now; a finished one is
    // shown with its schema checks only (the mesh it was judged against has moved on).
    pending ? loadMeshView(db, ops) : Promise.resolve(null),
    pending ? tallyApprovals(db, row) : Promise.resolve(null),
  ]);
  const validation = validatePlan(ops, view);
  const operations = ops.map((op, i) => {
    const cur = current.get(keyOf(op)) ?? null;
    return {
      index: i,
      action: op.action,
      kind: op.kind,
      namespace: op.namespace,
      name: op.name,
      baseRevision: op.baseRevision,
      currentRevision: cur,
      stale: pending && cur !== op.baseRevision,
      before: op.baseRevision === null ? null : (baseSpec.get(`${keyOf(op)}@${op.baseRevision}`) ?? null),
      after: op.spec,
      errors: validation.perOp[i]!.errors,
      warnings: validation.perOp[i]!.warnings,
    };
  });
  return {
    ...toSummary(row, tally),
    description: row.description,
    fastTrackReason: row.fastTrackReason,
    operations,
    validation: {
      valid: validation.errors.length === 0,
      errors: validation.errors,
      warnings: validation.warnings,
    },
    approvals: row.approvals.map((a) => ({
      user: a.user.name,
      decision: a.decision,
      comment: a.comment,
      createdAt: a.createdAt.toISOString(),
    })),
    rolledBackBy: row.rollbacks,
    rollout: await rolloutOf(db, actor, row),
  };
}

/**
 * How the change's latest config generation reached the proxies, from the rows the control plane writes
 * (pending → acked / nacked with the proxy's reason). Proxies in namespaces the actor may not read are left
 * out, counts included.
 */
export async function rolloutOf(
  db: Db,
  actor: Actor,
  row: Pick<ChangeRow, "id" | "generations">,
): Promise<Rollout> {
  const gen = row.generations[0];
  if (!gen) {
    return {
      changeId: row.id,
      generation: null,
      state: "not_applied",
      total: 0,
      acked: 0,
      nacked: 0,
      pending: 0,
      proxies: [],
    };
  }
  const readable = readableNamespaces(actor);
  const statuses = await db.proxyConfigStatus.findMany({
    where: {
      generationId: gen.id,
      ...(readable === "all" ? {} : { workload: { service: { namespace: { in: readable } } } }),
    },
    include: { workload: { include: { service: { select: { namespace: true, name: true } } } } },
    orderBy: [
      { workload: { service: { namespace: "asc" } } },
      { workload: { service: { name: "asc" } } },
      { workloadId: "asc" },
    ],
  });
  const proxies = statuses.map((s) => ({
    workloadId: s.workloadId,
    namespace: s.workload.service.namespace,
    service: s.workload.service.name,
    version: s.workload.version,
    address: s.workload.address,
    state: s.state,
    configVersion: s.version,
    reason: s.reason,
    updatedAt: s.updatedAt.toISOString(),
  }));
  const count = (st: string) => proxies.filter((p) => p.state === st).length;
  const acked = count("acked");
  const nacked = count("nacked");
  const pendingCount = count("pending");
  const state =
    proxies.length === 0 ? "waiting" : nacked > 0 ? "failed" : pendingCount > 0 ? "in_progress" : "complete";
  return {
    changeId: row.id,
    generation: gen.number,
    state,
    total: proxies.length,
    acked,
    nacked,
    pending: pendingCount,
    proxies,
  };
}
