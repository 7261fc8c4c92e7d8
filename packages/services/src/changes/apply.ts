// Applying a change request: inside the caller's transaction, with the change's row locked. Either every
// operation is written (Resource + ResourceRevision, a new ConfigGeneration, status applied, audit, NOTIFY)
// or, when a resource has moved on since the author saw it, nothing is written and the change is stale.
import { encodeNotifyPayload, NOTIFY_CHANNELS, ZConfigChangedPayload } from "@trellis/contracts";
import type { Prisma } from "@trellis/db";
import { Prisma as P } from "@trellis/db";
import type { Actor } from "../actor.js";
import { audit } from "../audit.js";
import { keyOf, type PlannedOp } from "./plan.js";

type Tx = Prisma.TransactionClient;

export interface StaleOp {
  index: number;
  key: string;
  baseRevision: number | null;
  currentRevision: number | null;
}

/**
 * Locks the rows of the resources the operations touch (in key order, so two changes never deadlock) and
 * returns those whose revision is not the operation's base. A create expects no row.
 */
export async function lockAndCheckBases(tx: Tx, ops: readonly PlannedOp[]): Promise<StaleOp[]> {
  const order = ops
    .map((op, index) => ({ op, index }))
    .sort((a, b) => keyOf(a.op).localeCompare(keyOf(b.op)));
  const stale: StaleOp[] = [];
  for (const { op, index } of order) {
    const rows = await tx.$queryRaw<{ revision: number }[]>`
      SELECT revision FROM "Resource"
      WHERE kind = ${op.kind}::"ResourceKind" AND namespace = ${op.namespace} AND name = ${op.name}
      FOR UPDATE`;
    const current = rows[0]?.revision ?? null;
    if (current !== op.baseRevision) {
      stale.push({ index, key: keyOf(op), baseRevision: op.baseRevision, currentRevision: current });
    }
  }
  return stale;
}

export function describeStale(s: StaleOp): string {
  if (s.baseRevision === null) return `${s.key} was created meanwhile (revision ${s.currentRevision})`;
  if (s.currentRevision === null) return `${s.key} was deleted after revision ${s.baseRevision}`;
  return `${s.key} moved on from revision ${s.baseRevision} to ${s.currentRevision}`;
}

/** Marks a change stale (inside the transaction that found out) and records why. */
export async function markStale(
  tx: Tx,
  actor: Actor,
  change: { id: string; number: number },
  ops: readonly PlannedOp[],
  stale: readonly StaleOp[],
): Promise<void> {
  await tx.changeRequest.update({ where: { id: change.id }, data: { status: "stale" } });
  await auditChange(tx, actor, change.id, ops, "change.stale", (ns) => ({
    number: change.number,
    resources: stale.filter((s) => ops[s.index]!.namespace === ns).map(describeStale),
  }));
}

export interface Applied {
  generation: number;
  revisions: { key: string; revision: number }[];
  /** Other open changes that touched the same resources and are stale now. */
  staled: number[];
}

/**
 * Writes every operation. The caller has locked the change and checked the bases with `lockAndCheckBases` in
 * this same transaction. The NOTIFY is sent inside the transaction on purpose: PostgreSQL delivers it only
 * when the transaction commits (never for a rolled-back one), so the control plane always reads the committed
 * resources, and no crash between commit and notify can lose it.
 */
export async function applyOps(
  tx: Tx,
  actor: Actor,
  change: { id: string; number: number; title: string; rollbackOfId: string | null },
  ops: readonly PlannedOp[],
): Promise<Applied> {
  const revisions: Applied["revisions"] = [];
  for (const op of ops) {
    const where = { kind: op.kind, namespace: op.namespace, name: op.name };
    let revision: number;
    if (op.action === "create") {
      // A resource deleted earlier keeps its history: numbering goes on after its last revision.
      const last = await tx.resourceRevision.aggregate({ where, _max: { revision: true } });
      revision = (last._max.revision ?? 0) + 1;
      await tx.resource.create({ data: { ...where, spec: op.spec as P.InputJsonValue, revision } });
    } else if (op.action === "update") {
      revision = op.baseRevision! + 1;
      await tx.resource.update({
        where: { kind_namespace_name: where },
        data: { spec: op.spec as P.InputJsonValue, revision },
      });
    } else {
      revision = op.baseRevision! + 1;
      await tx.resource.delete({ where: { kind_namespace_name: where } });
    }
    await tx.resourceRevision.create({
      data: {
        ...where,
        revision,
        spec: op.spec === null ? P.DbNull : (op.spec as P.InputJsonValue),
        changeRequestId: change.id,
      },
    });
    revisions.push({ key: keyOf(op), revision });
  }

  const generation = await tx.configGeneration.create({
    data: { changeRequestId: change.id, reason: `change #${change.number}: ${change.title}`.slice(0, 500) },
  });
  await tx.changeRequest.update({
    where: { id: change.id },
    data: { status: "applied", appliedAt: new Date() },
  });
  if (change.rollbackOfId) {
    await tx.changeRequest.updateMany({
      where: { id: change.rollbackOfId, status: "applied" },
      data: { status: "rolled_back" },
    });
  }

  // Open changes on the same resources were based on revisions that are gone now.
  const others = await tx.changeRequest.findMany({
    where: {
      id: { not: change.id },
      status: { in: ["open", "approved"] },
      operations: { some: { OR: ops.map((o) => ({ kind: o.kind, namespace: o.namespace, name: o.name })) } },
    },
    select: { id: true, number: true, operations: { select: { namespace: true } } },
  });
  if (others.length > 0) {
    await tx.changeRequest.updateMany({
      where: { id: { in: others.map((o) => o.id) } },
      data: { status: "stale" },
    });
    for (const o of others) {
      await auditChange(tx, actor, o.id, o.operations, "change.stale", () => ({
        number: o.number,
        because: `change #${change.number} was applied`,
      }));
    }
  }

  await auditChange(tx, actor, change.id, ops, "change.apply", (ns) => ({
    number: change.number,
    generation: generation.number,
    revisions: revisions.filter((_, i) => ops[i]!.namespace === ns),
    ...(change.rollbackOfId ? { rollbackOf: change.rollbackOfId } : {}),
  }));
  // Every control-plane replica LISTENs here and pushes the change; the generation names its rollout.
  const payload = encodeNotifyPayload(ZConfigChangedPayload, { generation: generation.number });
  await tx.$executeRaw`SELECT pg_notify(${NOTIFY_CHANNELS.configChanged}, ${payload})`;
  return { generation: generation.number, revisions, staled: others.map((o) => o.number) };
}

/**
 * Records one event of a change in the audit log: one entry per namespace the change touches, since an
 * entry has one namespace column and namespace admins read the entries of their namespaces (audit-log.ts).
 * Each entry's details are built for its namespace only (`details(ns)`: its operations, revisions, …): an
 * admin of `shop` must not learn the resources a change writes in a namespace they cannot read. A change
 * spanning namespaces says how many others it touches (`otherNamespaces`), not which.
 */
export async function auditChange(
  tx: Tx,
  actor: Actor,
  changeId: string,
  ops: readonly { namespace: string }[],
  action: string,
  details: (namespace: string) => Record<string, unknown>,
): Promise<void> {
  const namespaces = [...new Set(ops.map((o) => o.namespace))].sort();
  for (const namespace of namespaces) {
    await audit(tx, actor, {
      action,
      targetKind: "ChangeRequest",
      targetId: changeId,
      namespace,
      details: {
        ...details(namespace),
        ...(namespaces.length > 1 ? { otherNamespaces: namespaces.length - 1 } : {}),
      },
    });
  }
}
