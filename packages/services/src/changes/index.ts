// Change requests: the only way a resource is created, updated or deleted. Every verb takes the calling Actor
// and checks its rights here, for the console, tRPC and REST alike:
//
//   verb       role, in every namespace the change touches    other rules
//   create     editor                                           validation errors block; bases must be current
//   preview    viewer                                           writes nothing
//   list/get   viewer (list: changes whose namespaces you read) a change you cannot read is "not found"
//   approve    approver                                         never the author; errors block; applies once
//                                                               enough approvals count (approval-rule.ts)
//   reject     approver                                         never the author
//   cancel     viewer, and be the author                        –
//   rebase     editor                                           stale → bases re-read, approvals dismissed
//   rollback   editor (fast-track: admin, with a reason)        only an applied change
//
// Status flow: open → applied (on the last approval, in one transaction) | stale | rejected | cancelled;
// stale → open (rebase); applied → rolled_back (when its rollback is applied).
import {
  ZChangeCreateInput,
  ZChangeDecisionInput,
  ZChangeIdInput,
  ZChangeListInput,
  ZChangePreviewInput,
  ZChangeRollbackInput,
  hasRole,
  type Change,
  type ChangeCreateInput,
  type ChangeDecisionInput,
  type ChangeIdInput,
  type ChangeList,
  type ChangeListInput,
  type ChangePreview,
  type ChangePreviewInput,
  type ChangeRollbackInput,
  type FieldIssue,
  type Impact,
  type Role,
  type Rollout,
} from "@trellis/contracts";
import { Prisma, type Db } from "@trellis/db";
import { readableNamespaces, requireRole, type Actor } from "../actor.js";
import { AppError, parseInput } from "../errors.js";
import { applyOps, auditChange, describeStale, lockAndCheckBases, markStale, type StaleOp } from "./apply.js";
import { tallyApprovals } from "./approval-rule.js";
import { computeImpact } from "./impact.js";
import { loadMeshView, validatePlan } from "./mesh-view.js";
import {
  INPUT_OPERATIONS,
  STORED_OPERATIONS,
  fromResource,
  keyOf,
  namespacesOf,
  operationIssue,
  planFromOperations,
  planFromYaml,
  yamlDocuments,
  type PlanSource,
  type PlannedOp,
  type Spec,
} from "./plan.js";
import {
  CHANGE_INCLUDE,
  changeNamespaces,
  findChange,
  loadRevisions,
  rolloutOf,
  storedOps,
  toChange,
  toSummaries,
} from "./view.js";

const TX = { maxWait: 10_000, timeout: 30_000 } as const;

function requireRoleIn(actor: Actor, role: Role, namespaces: readonly string[]): void {
  for (const ns of namespaces) requireRole(actor, role, ns);
}

/** Changes are made by people (a user, or a user's token): the author and approvers are users. */
function requireUser(actor: Actor, what: string): string {
  if (!actor.userId) throw new AppError("FORBIDDEN", `${what} needs a user (or a user's API token)`);
  return actor.userId;
}

function staleError(stale: readonly StaleOp[], source: PlanSource, hint: string): AppError {
  return new AppError("CHANGE_STALE", `${stale.map(describeStale).join("; ")}: ${hint}`, {
    issues: stale.map((s) => operationIssue(source, s.index, describeStale(s))),
  });
}

/** The stale operations of a plan, compared with the revisions in force (without locking: a pre-check). */
async function staleOps(db: Db, ops: readonly PlannedOp[]): Promise<StaleOp[]> {
  const { current } = await loadRevisions(db, ops);
  return ops.flatMap((op, index) => {
    const cur = current.get(keyOf(op)) ?? null;
    return cur === op.baseRevision
      ? []
      : [{ index, key: keyOf(op), baseRevision: op.baseRevision, currentRevision: cur }];
  });
}

/**
 * Approvals a change in these namespaces needs now, recorded on the change when it opens (and shown until it
 * is finished as approval-rule.ts counts them then; the approval that applies it decides again).
 */
async function requiredApprovals(db: Db, namespaces: readonly string[]): Promise<number> {
  const change = { authorId: "", operations: namespaces.map((namespace) => ({ namespace })), approvals: [] };
  return (await tallyApprovals(db, change)).required;
}

/** Input (operations or YAML) → planned operations, with schema problems as CHANGE_INVALID. */
async function planInput(
  db: Db,
  input: { operations?: ChangeCreateInput["operations"]; yaml?: string },
): Promise<{ ops: PlannedOp[]; source: PlanSource }> {
  if (input.yaml !== undefined) {
    const y = planFromYaml(input.yaml);
    if (y.issues.length > 0) throw invalid(y.issues);
    // `apply -f` means "make it so": each document updates what is in force, or creates it.
    const rows = await db.resource.findMany({
      where: {
        OR: y.resources.map((r) => ({
          kind: r.kind,
          namespace: r.metadata.namespace,
          name: r.metadata.name,
        })),
      },
      select: { kind: true, namespace: true, name: true, revision: true },
    });
    const current = new Map(rows.map((r) => [keyOf(r), r.revision]));
    const ops = y.resources.map((r) => {
      const rev = current.get(`${r.kind}/${r.metadata.namespace}/${r.metadata.name}`);
      return fromResource(r, rev === undefined ? "create" : "update", rev ?? null);
    });
    return { ops, source: yamlDocuments(y.documentIndexes) };
  }
  const p = planFromOperations(input.operations ?? []);
  if (p.issues.length > 0) throw invalid(p.issues);
  return { ops: p.ops, source: INPUT_OPERATIONS };
}

function invalid(issues: FieldIssue[]): AppError {
  const first = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  return new AppError(
    "CHANGE_INVALID",
    `${first ? `${first.path}: ${first.message}` : "invalid change"}${more}`,
    { issues },
  );
}

// --- create, preview -----------------------------------------------------------------------------------------

/** Proposes a change. Editors of every namespace it touches; errors block, warnings come back with it. */
export async function createChange(db: Db, actor: Actor, rawInput: ChangeCreateInput): Promise<Change> {
  const input = parseInput(ZChangeCreateInput, rawInput);
  const userId = requireUser(actor, "proposing a change");
  const { ops, source } = await planInput(db, input);
  const namespaces = namespacesOf(ops);
  requireRoleIn(actor, "editor", namespaces);

  const stale = await staleOps(db, ops);
  if (stale.length > 0)
    throw staleError(stale, source, "read the resources again and propose the change on top of them");
  const validation = validatePlan(ops, await loadMeshView(db, ops), source);
  if (validation.errors.length > 0) throw invalid(validation.errors);

  const required = await requiredApprovals(db, namespaces);
  const id = await db.$transaction(async (tx) => {
    const row = await tx.changeRequest.create({
      data: {
        title: input.title,
        description: input.description ?? "",
        authorId: userId,
        source: actor.via,
        requiredApprovals: required,
        operations: { create: ops.map((op, index) => opData(op, index)) },
      },
    });
    await auditChange(tx, actor, row.id, ops, "change.create", (ns) => ({
      number: row.number,
      title: row.title,
      operations: ops.filter((op) => op.namespace === ns).map(describeOp),
    }));
    return row.id;
  }, TX);
  return toChange(db, actor, await findChange(db, id));
}

/** Validation and impact of a change that is not saved: the console's editor calls it as the author types. */
export async function previewChange(
  db: Db,
  actor: Actor,
  rawInput: ChangePreviewInput,
): Promise<ChangePreview> {
  const input = parseInput(ZChangePreviewInput, rawInput);
  const { ops, source } = await planInput(db, input);
  requireRoleIn(actor, "viewer", namespacesOf(ops));
  const view = await loadMeshView(db, ops);
  const validation = validatePlan(ops, view, source);
  const { current, baseSpec } = await loadRevisions(db, ops);
  return {
    operations: ops.map((op, i) => {
      const cur = current.get(keyOf(op)) ?? null;
      return {
        index: i,
        action: op.action,
        kind: op.kind,
        namespace: op.namespace,
        name: op.name,
        baseRevision: op.baseRevision,
        currentRevision: cur,
        stale: cur !== op.baseRevision,
        before: op.baseRevision === null ? null : (baseSpec.get(`${keyOf(op)}@${op.baseRevision}`) ?? null),
        after: op.spec,
        errors: validation.perOp[i]!.errors,
        warnings: validation.perOp[i]!.warnings,
      };
    }),
    validation: {
      valid: validation.errors.length === 0,
      errors: validation.errors,
      warnings: validation.warnings,
    },
    impact: await computeImpact(db, view, ops),
  };
}

function opData(op: PlannedOp, index: number) {
  return {
    index,
    action: op.action,
    kind: op.kind,
    namespace: op.namespace,
    name: op.name,
    spec: op.spec === null ? Prisma.DbNull : (op.spec as Prisma.InputJsonValue),
    baseRevision: op.baseRevision,
  };
}

function describeOp(op: PlannedOp): string {
  return `${op.action} ${keyOf(op)}${op.baseRevision === null ? "" : `@${op.baseRevision}`}`;
}

// --- read ----------------------------------------------------------------------------------------------------

/**
 * Change requests, newest first. Only changes whose every namespace the actor may read are listed (a change
 * touching a namespace you cannot read would show you its specs).
 */
export async function listChanges(db: Db, actor: Actor, rawInput: ChangeListInput = {}): Promise<ChangeList> {
  const input = parseInput(ZChangeListInput, rawInput);
  if (input.namespace) requireRole(actor, "viewer", input.namespace);
  const readable = readableNamespaces(actor);
  if (readable !== "all" && readable.length === 0) requireRole(actor, "viewer");
  const and: Prisma.ChangeRequestWhereInput[] = [];
  if (input.status) and.push({ status: input.status });
  if (input.namespace) and.push({ operations: { some: { namespace: input.namespace } } });
  if (readable !== "all") and.push({ operations: { every: { namespace: { in: readable } } } });
  const rows = await db.changeRequest.findMany({
    where: { AND: and },
    include: CHANGE_INCLUDE,
    orderBy: { number: "desc" },
    take: input.limit ?? 50,
  });
  return { items: await toSummaries(db, rows) };
}

/**
 * Reads one change; viewers of every namespace it touches. To anyone else it does not exist: the same 404 as
 * for a number never used, so that probing `/changes/N` tells nothing about other namespaces' changes.
 */
async function readable(db: Db, actor: Actor, id: string) {
  const row = await findChange(db, id);
  if (!changeNamespaces(row).every((ns) => hasRole(actor.bindings, "viewer", ns)))
    throw new AppError("NOT_FOUND", `no change request ${id}`);
  return row;
}

export async function getChange(db: Db, actor: Actor, rawInput: ChangeIdInput): Promise<Change> {
  const input = parseInput(ZChangeIdInput, rawInput);
  return toChange(db, actor, await readable(db, actor, input.id));
}

export async function getChangeRollout(db: Db, actor: Actor, rawInput: ChangeIdInput): Promise<Rollout> {
  const input = parseInput(ZChangeIdInput, rawInput);
  return rolloutOf(db, actor, await readable(db, actor, input.id));
}

/** The impact preview of a saved change, judged against the last hour of traffic. */
export async function getChangeImpact(db: Db, actor: Actor, rawInput: ChangeIdInput): Promise<Impact> {
  const input = parseInput(ZChangeIdInput, rawInput);
  const row = await readable(db, actor, input.id);
  const ops = storedOps(row);
  return computeImpact(db, await loadMeshView(db, ops), ops);
}

// --- decide ---------------------------------------------------------------------------------------------------

/** Locks the change's row for the rest of the transaction and returns its status as it is now. */
async function lockChange(
  tx: Prisma.TransactionClient,
  id: string,
): Promise<{ status: string; requiredApprovals: number }> {
  const rows = await tx.$queryRaw<{ status: string; requiredApprovals: number }[]>`
    SELECT status::text AS status, "requiredApprovals" FROM "ChangeRequest" WHERE id = ${id} FOR UPDATE`;
  if (!rows[0]) throw new AppError("NOT_FOUND", `no change request ${id}`);
  return rows[0];
}

function notOpen(row: { number: number }, status: string): AppError {
  if (status === "stale") {
    return new AppError(
      "CHANGE_STALE",
      `change #${row.number} is stale: a resource it changes moved on; rebase it first`,
    );
  }
  return new AppError("CHANGE_NOT_OPEN", `change #${row.number} is ${status.replace("_", " ")}`);
}

/**
 * Approves. Approvers of every namespace the change touches, never its author. The approval after which
 * enough approvals count applies the change in the same transaction: bases checked (moved on → stale,
 * nothing applied), resources and revisions written, a config generation created, status applied, audit,
 * NOTIFY. What "enough" and "count" mean is decided now, under the change's row lock, by approval-rule.ts
 * (the namespace settings and the approvers' roles as they are at this moment), not when the change opened.
 * One user's approvals racing each other: the row lock orders them, the first is recorded and the others
 * find it and get CONFLICT (or CHANGE_NOT_OPEN once the first applied the change).
 */
export async function approveChange(db: Db, actor: Actor, rawInput: ChangeDecisionInput): Promise<Change> {
  const input = parseInput(ZChangeDecisionInput, rawInput);
  const row = await readable(db, actor, input.id);
  const userId = requireUser(actor, "approving");
  if (row.authorId === userId) {
    throw new AppError(
      "CHANGE_SELF_APPROVAL",
      `you proposed change #${row.number}: someone else must approve it`,
    );
  }
  const namespaces = changeNamespaces(row);
  requireRoleIn(actor, "approver", namespaces);
  if (row.status !== "open") throw notOpen(row, row.status);
  if (row.approvals.some((a) => a.userId === userId)) {
    throw new AppError("CONFLICT", `you already decided on change #${row.number}`);
  }
  const ops = storedOps(row);
  const validation = validatePlan(ops, await loadMeshView(db, ops));
  if (validation.errors.length > 0) throw invalid(validation.errors);

  const outcome = await db.$transaction(async (tx) => {
    const locked = await lockChange(tx, row.id);
    if (locked.status !== "open") throw notOpen(row, locked.status);
    await refuseSecondDecision(tx, row, userId);
    const stale = await lockAndCheckBases(tx, ops);
    if (stale.length > 0) {
      await markStale(tx, actor, row, ops, stale);
      return { stale };
    }
    await tx.approval.create({
      data: { changeRequestId: row.id, userId, decision: "approve", comment: input.comment ?? "" },
    });
    const decisions = await tx.approval.findMany({
      where: { changeRequestId: row.id },
      select: { userId: true, decision: true },
    });
    const tally = await tallyApprovals(tx, { ...row, approvals: decisions });
    await auditChange(tx, actor, row.id, ops, "change.approve", () => ({
      number: row.number,
      comment: input.comment ?? "",
      approvals: tally.counted,
      required: tally.required,
    }));
    if (locked.requiredApprovals !== tally.required) {
      // Kept in step, so a finished change shows the count it was decided with.
      await tx.changeRequest.update({ where: { id: row.id }, data: { requiredApprovals: tally.required } });
    }
    if (tally.counted < tally.required) return { stale: [] };
    await applyOps(tx, actor, row, ops);
    return { stale: [] };
  }, TX);
  if (outcome.stale.length > 0) {
    throw staleError(
      outcome.stale,
      STORED_OPERATIONS,
      `change #${row.number} is stale now; rebase it, then ask for approval again`,
    );
  }
  return toChange(db, actor, await findChange(db, row.id));
}

/** Inside the decision's transaction, after the change's row lock: one decision per user and change. */
async function refuseSecondDecision(
  tx: Prisma.TransactionClient,
  row: { id: string; number: number },
  userId: string,
): Promise<void> {
  const mine = await tx.approval.findUnique({
    where: { changeRequestId_userId: { changeRequestId: row.id, userId } },
    select: { id: true },
  });
  if (mine) throw new AppError("CONFLICT", `you already decided on change #${row.number}`);
}

/** Rejects, with a comment. Approvers of every namespace the change touches, never its author. */
export async function rejectChange(db: Db, actor: Actor, rawInput: ChangeDecisionInput): Promise<Change> {
  const input = parseInput(ZChangeDecisionInput, rawInput);
  const row = await readable(db, actor, input.id);
  const userId = requireUser(actor, "rejecting");
  if (row.authorId === userId) {
    throw new AppError(
      "CHANGE_SELF_APPROVAL",
      `you proposed change #${row.number}: cancel it instead of rejecting it`,
    );
  }
  requireRoleIn(actor, "approver", changeNamespaces(row));
  if (row.status !== "open" && row.status !== "stale") throw notOpen(row, row.status);
  if (row.approvals.some((a) => a.userId === userId)) {
    throw new AppError("CONFLICT", `you already decided on change #${row.number}`);
  }
  const ops = storedOps(row);
  await db.$transaction(async (tx) => {
    const locked = await lockChange(tx, row.id);
    if (locked.status !== "open" && locked.status !== "stale") throw notOpen(row, locked.status);
    await refuseSecondDecision(tx, row, userId);
    await tx.approval.create({
      data: { changeRequestId: row.id, userId, decision: "reject", comment: input.comment ?? "" },
    });
    await tx.changeRequest.update({ where: { id: row.id }, data: { status: "rejected" } });
    await auditChange(tx, actor, row.id, ops, "change.reject", () => ({
      number: row.number,
      comment: input.comment ?? "",
    }));
  }, TX);
  return toChange(db, actor, await findChange(db, row.id));
}

/** Withdraws a change that is not applied. Its author only. */
export async function cancelChange(db: Db, actor: Actor, rawInput: ChangeIdInput): Promise<Change> {
  const input = parseInput(ZChangeIdInput, rawInput);
  const row = await readable(db, actor, input.id);
  if (!actor.userId || row.authorId !== actor.userId) {
    throw new AppError("FORBIDDEN", `only the author (${row.author.name}) can cancel change #${row.number}`);
  }
  if (row.status !== "open" && row.status !== "stale" && row.status !== "approved")
    throw notOpen(row, row.status);
  const ops = storedOps(row);
  await db.$transaction(async (tx) => {
    const locked = await lockChange(tx, row.id);
    if (locked.status !== "open" && locked.status !== "stale" && locked.status !== "approved") {
      throw notOpen(row, locked.status);
    }
    await tx.changeRequest.update({ where: { id: row.id }, data: { status: "cancelled" } });
    await auditChange(tx, actor, row.id, ops, "change.cancel", () => ({ number: row.number }));
  }, TX);
  return toChange(db, actor, await findChange(db, row.id));
}

/**
 * Rebases a stale change on what is in force now: each operation's base becomes the current revision (a
 * create of a resource that appeared becomes an update, an update of one that disappeared a create), the
 * change is validated again, and approvals given to the old bases are dismissed (the audit log keeps them).
 * Editors of every namespace the change touches.
 */
export async function rebaseChange(db: Db, actor: Actor, rawInput: ChangeIdInput): Promise<Change> {
  const input = parseInput(ZChangeIdInput, rawInput);
  const row = await readable(db, actor, input.id);
  requireRoleIn(actor, "editor", changeNamespaces(row));
  if (row.status !== "stale" && row.status !== "open") throw notOpen(row, row.status);
  const old = storedOps(row);
  const { current } = await loadRevisions(db, old);
  const issues: FieldIssue[] = [];
  const ops: PlannedOp[] = old.map((op, i) => {
    const cur = current.get(keyOf(op)) ?? null;
    if (op.action === "delete") {
      if (cur === null)
        issues.push(operationIssue(STORED_OPERATIONS, i, `${keyOf(op)} no longer exists: nothing to delete`));
      return { ...op, baseRevision: cur };
    }
    return { ...op, action: cur === null ? "create" : "update", baseRevision: cur };
  });
  if (issues.length > 0) throw invalid(issues);
  const validation = validatePlan(ops, await loadMeshView(db, ops));
  if (validation.errors.length > 0) throw invalid(validation.errors);
  const required = await requiredApprovals(db, changeNamespaces(row));

  await db.$transaction(async (tx) => {
    const locked = await lockChange(tx, row.id);
    if (locked.status !== "stale" && locked.status !== "open") throw notOpen(row, locked.status);
    const stale = await lockAndCheckBases(tx, ops);
    if (stale.length > 0) throw staleError(stale, STORED_OPERATIONS, "it moved again; rebase once more");
    for (const [index, op] of ops.entries()) {
      await tx.changeOperation.update({
        where: { changeRequestId_index: { changeRequestId: row.id, index } },
        data: { action: op.action, baseRevision: op.baseRevision },
      });
    }
    const dismissed = await tx.approval.deleteMany({ where: { changeRequestId: row.id } });
    await tx.changeRequest.update({
      where: { id: row.id },
      data: { status: "open", requiredApprovals: required },
    });
    await auditChange(tx, actor, row.id, ops, "change.rebase", (ns) => ({
      number: row.number,
      bases: ops.flatMap((op, i) =>
        op.namespace === ns ? [{ resource: keyOf(op), from: old[i]!.baseRevision, to: op.baseRevision }] : [],
      ),
      dismissedApprovals: dismissed.count,
    }));
  }, TX);
  return toChange(db, actor, await findChange(db, row.id));
}

// --- rollback ------------------------------------------------------------------------------------------------

/**
 * Proposes the undoing of an applied change: a new change request that restores every resource it touched to
 * the revision before it (a create is undone by a delete, a delete by a create). Editors propose it and it
 * needs approvals like any change; an admin of every namespace may fast-track it with a reason, which applies
 * it at once. If a resource moved on after the change, the rollback is created stale (rebase it to roll
 * back over the newer state deliberately); a fast-track is then refused.
 */
export async function rollbackChange(db: Db, actor: Actor, rawInput: ChangeRollbackInput): Promise<Change> {
  const input = parseInput(ZChangeRollbackInput, rawInput);
  const original = await readable(db, actor, input.id);
  const userId = requireUser(actor, "rolling back");
  const namespaces = changeNamespaces(original);
  requireRoleIn(actor, "editor", namespaces);
  if (input.fastTrackReason !== undefined) requireRoleIn(actor, "admin", namespaces);
  if (original.status !== "applied") {
    throw new AppError(
      "CHANGE_NOT_APPLIED",
      `change #${original.number} is ${original.status.replace("_", " ")}: only an applied change can be rolled back`,
    );
  }

  // What the original wrote, and what was there before it.
  const written = await db.resourceRevision.findMany({
    where: { changeRequestId: original.id },
    select: { kind: true, namespace: true, name: true, revision: true },
  });
  const writtenRev = new Map(written.map((w) => [keyOf(w), w.revision]));
  const origOps = storedOps(original);
  const { baseSpec } = await loadRevisions(db, origOps);
  const issues: FieldIssue[] = [];
  const ops: PlannedOp[] = origOps.map((op, i) => {
    const after = writtenRev.get(keyOf(op)) ?? null;
    if (after === null)
      issues.push(
        operationIssue(
          STORED_OPERATIONS,
          i,
          `no revision of ${keyOf(op)} was recorded for change #${original.number}`,
        ),
      );
    const key = { kind: op.kind, namespace: op.namespace, name: op.name };
    if (op.action === "create") return { ...key, action: "delete", spec: null, baseRevision: after };
    const before = baseSpec.get(`${keyOf(op)}@${op.baseRevision}`) ?? null;
    if (before === null)
      issues.push(
        operationIssue(STORED_OPERATIONS, i, `revision ${op.baseRevision} of ${keyOf(op)} is not recorded`),
      );
    if (op.action === "update")
      return { ...key, action: "update", spec: before as Spec, baseRevision: after };
    return { ...key, action: "create", spec: before as Spec, baseRevision: null };
  });
  if (issues.length > 0) throw invalid(issues);
  const validation = validatePlan(ops, await loadMeshView(db, ops));
  if (validation.errors.length > 0) throw invalid(validation.errors);
  const stale = await staleOps(db, ops);
  if (input.fastTrackReason !== undefined && stale.length > 0) {
    throw staleError(
      stale,
      STORED_OPERATIONS,
      "changed after the change being rolled back; a fast-track cannot overwrite that",
    );
  }
  const required = await requiredApprovals(db, namespaces);

  const id = await db.$transaction(async (tx) => {
    const row = await tx.changeRequest.create({
      data: {
        title: input.title ?? `Roll back #${original.number}: ${original.title}`.slice(0, 200),
        description: input.description ?? `Restores what change #${original.number} changed.`,
        authorId: userId,
        source: actor.via,
        requiredApprovals: required,
        rollbackOfId: original.id,
        fastTrackReason: input.fastTrackReason ?? null,
        status: stale.length > 0 ? "stale" : "open",
        operations: { create: ops.map((op, index) => opData(op, index)) },
      },
    });
    await auditChange(tx, actor, row.id, ops, "change.create", (ns) => ({
      number: row.number,
      title: row.title,
      rollbackOf: original.number,
      operations: ops.filter((op) => op.namespace === ns).map(describeOp),
    }));
    if (input.fastTrackReason !== undefined) {
      const moved = await lockAndCheckBases(tx, ops);
      if (moved.length > 0) throw staleError(moved, STORED_OPERATIONS, "changed meanwhile; try again");
      await auditChange(tx, actor, row.id, ops, "change.fastTrack", () => ({
        number: row.number,
        rollbackOf: original.number,
        reason: input.fastTrackReason,
      }));
      await applyOps(tx, actor, { ...row, rollbackOfId: original.id }, ops);
    }
    return row.id;
  }, TX);
  return toChange(db, actor, await findChange(db, id));
}
