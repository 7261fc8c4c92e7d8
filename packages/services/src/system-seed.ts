// Seeding resources as an applied system change: how Trellis itself (not a person) puts a known initial state in
// force, e.g. the demo mesh's mTLS setting and its first Route. It goes through the same path as an approved
// change request (change row, revisions, ConfigGeneration, audit, NOTIFY in the transaction), so the history,
// the rollout and a later rollback treat it like any other change. Only the system actor may call it: people
// propose changes and others approve them.
//
// When to edit this: when a new kind of built-in initial state appears (call it from there; do not add a
// second way to write resources).
import { parseResource, type FieldIssue } from "@trellis/contracts";
import type { Db, Prisma } from "@trellis/db";
import type { Actor } from "./actor.js";
import { AppError } from "./errors.js";
import { applyOps, auditChange, describeStale, lockAndCheckBases } from "./changes/apply.js";
import { loadMeshView, validatePlan } from "./changes/mesh-view.js";
import { fromResource, keyOf, resourceIssue, type PlanSource, type PlannedOp } from "./changes/plan.js";

/** The seeded resources' issues are named by their place in the input: `resources[1].spec.service`. */
const SEED: PlanSource = {
  doc: (i) => i,
  operation: (i) => ["resources", i],
  resource: (i) => ["resources", i],
};

export interface SystemSeedInput {
  /** The change request's title, e.g. "demo mesh: initial state". */
  title: string;
  description?: string;
  /** Why it skips review, shown on the change (as a fast-track reason is). */
  reason: string;
  /** Resource documents (apiVersion, kind, metadata, spec), each checked with its kind's schema. */
  resources: readonly unknown[];
}

export interface SystemSeedResult {
  /** The applied change's number; null when every resource already existed (nothing written). */
  change: number | null;
  generation: number | null;
  /** `Kind/namespace/name` of the resources this call created. */
  created: string[];
  /** Those that were already there: left exactly as they are (a person may have changed them since). */
  existing: string[];
}

const TX = { maxWait: 10_000, timeout: 30_000 } as const;

/**
 * Creates the given resources that do not exist yet, in one change request authored by the system and
 * applied at once. Idempotent: a second call finds them and writes nothing, so a restart keeps what people
 * changed. The change row needs a user as its author (the schema's `authorId`): the oldest mesh-wide admin
 * stands in for the system there, while the audit log records the system actor.
 */
export async function seedResourcesAsSystemChange(
  db: Db,
  actor: Actor,
  input: SystemSeedInput,
): Promise<SystemSeedResult> {
  if (actor.kind !== "system")
    throw new AppError(
      "FORBIDDEN",
      `${actor.name} cannot seed resources without review: propose a change request instead`,
    );
  if (!input.title.trim() || !input.reason.trim())
    throw new AppError("VALIDATION_FAILED", "a system change needs a title and a reason");

  const issues: FieldIssue[] = [];
  const all: PlannedOp[] = [];
  input.resources.forEach((doc, i) => {
    const parsed = parseResource(doc);
    if (parsed.ok) all.push(fromResource(parsed.resource, "create", null));
    else issues.push(...parsed.issues.map((x) => resourceIssue(SEED, i, x)));
  });
  if (issues.length > 0) throw invalid(issues);

  const present = await db.resource.findMany({
    where: { OR: all.map((op) => ({ kind: op.kind, namespace: op.namespace, name: op.name })) },
    select: { kind: true, namespace: true, name: true },
  });
  const existing = new Set(present.map(keyOf));
  const ops = all.filter((op) => !existing.has(keyOf(op)));
  if (ops.length === 0) return { change: null, generation: null, created: [], existing: [...existing] };

  const validation = validatePlan(ops, await loadMeshView(db, ops), SEED);
  if (validation.errors.length > 0) throw invalid(validation.errors);

  const author = await db.user.findFirst({
    where: { disabled: false, roleBindings: { some: { role: "admin", namespace: "*" } } },
    orderBy: { createdAt: "asc" },
    select: { id: true },
  });
  if (!author) throw new AppError("CONFLICT", "no mesh-wide admin exists yet: bootstrap the mesh first");

  const applied = await db.$transaction(async (tx) => {
    const stale = await lockAndCheckBases(tx, ops);
    if (stale.length > 0)
      throw new AppError("CHANGE_STALE", `${stale.map(describeStale).join("; ")}: seed again`);
    const row = await tx.changeRequest.create({
      data: {
        title: input.title.slice(0, 200),
        description: input.description ?? "",
        authorId: author.id,
        source: "system",
        fastTrackReason: input.reason,
        operations: {
          create: ops.map((op, index) => ({
            index,
            action: op.action,
            kind: op.kind,
            namespace: op.namespace,
            name: op.name,
            spec: op.spec as Prisma.InputJsonValue,
            baseRevision: null,
          })),
        },
      },
    });
    await auditChange(tx, actor, row.id, ops, "change.create", (ns) => ({
      number: row.number,
      title: row.title,
      operations: ops.filter((op) => op.namespace === ns).map((op) => `create ${keyOf(op)}`),
    }));
    await auditChange(tx, actor, row.id, ops, "change.fastTrack", () => ({
      number: row.number,
      reason: input.reason,
    }));
    const a = await applyOps(tx, actor, { ...row, rollbackOfId: null }, ops);
    return { number: row.number, generation: a.generation };
  }, TX);
  return {
    change: applied.number,
    generation: applied.generation,
    created: ops.map(keyOf),
    existing: [...existing],
  };
}

function invalid(issues: FieldIssue[]): AppError {
  const first = issues[0]!;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  return new AppError("CHANGE_INVALID", `${first.path}: ${first.message}${more}`, { issues });
}
