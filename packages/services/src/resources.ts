// Reading policy resources and their history. Resources are only ever written by applying a change request
// (changes/apply.ts), so there is nothing here that writes.
import {
  ZResourceGetInput,
  ZResourceListInput,
  ZResourceRefInput,
  type ResourceDetail,
  type ResourceGetInput,
  type ResourceHistory,
  type ResourceList,
  type ResourceListInput,
  type ResourceRefInput,
} from "@trellis/contracts";
import type { Db } from "@trellis/db";
import { readableNamespaces, requireRole, type Actor } from "./actor.js";
import { AppError, parseInput } from "./errors.js";

type Spec = Record<string, unknown>;

/** Resources in force, in the namespaces the actor may read. */
export async function listResources(
  db: Db,
  actor: Actor,
  rawInput: ResourceListInput = {},
): Promise<ResourceList> {
  const input = parseInput(ZResourceListInput, rawInput);
  if (input.namespace) requireRole(actor, "viewer", input.namespace);
  const readable = readableNamespaces(actor);
  if (readable !== "all" && readable.length === 0) requireRole(actor, "viewer");
  const rows = await db.resource.findMany({
    where: {
      ...(input.kind ? { kind: input.kind } : {}),
      ...(input.namespace
        ? { namespace: input.namespace }
        : readable === "all"
          ? {}
          : { namespace: { in: readable } }),
    },
    orderBy: [{ namespace: "asc" }, { kind: "asc" }, { name: "asc" }],
  });
  return {
    items: rows.map((r) => ({
      kind: r.kind,
      namespace: r.namespace,
      name: r.name,
      revision: r.revision,
      spec: r.spec as Spec,
      createdAt: r.createdAt.toISOString(),
      updatedAt: r.updatedAt.toISOString(),
    })),
  };
}

/** One resource as in force, or one of its earlier revisions (`revision`). Viewers of its namespace. */
export async function getResource(db: Db, actor: Actor, rawInput: ResourceGetInput): Promise<ResourceDetail> {
  const input = parseInput(ZResourceGetInput, rawInput);
  requireRole(actor, "viewer", input.namespace);
  const key = { kind: input.kind, namespace: input.namespace, name: input.name };
  const [row, rev] = await Promise.all([
    db.resource.findUnique({ where: { kind_namespace_name: key } }),
    input.revision === undefined
      ? Promise.resolve(null)
      : db.resourceRevision.findUnique({
          where: { kind_namespace_name_revision: { ...key, revision: input.revision } },
        }),
  ]);
  const what = `${input.kind} ${input.namespace}/${input.name}`;
  // A resource written outside change requests has no history rows: its current revision is the row itself.
  if (input.revision === undefined || (!rev && row?.revision === input.revision)) {
    if (!row) throw new AppError("NOT_FOUND", `no ${what}`);
    return {
      kind: row.kind,
      namespace: row.namespace,
      name: row.name,
      revision: row.revision,
      spec: row.spec as Spec,
      currentRevision: row.revision,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }
  if (!rev) throw new AppError("NOT_FOUND", `no revision ${input.revision} of ${what}`);
  return {
    kind: rev.kind,
    namespace: rev.namespace,
    name: rev.name,
    revision: rev.revision,
    spec: (rev.spec as Spec | null) ?? null,
    currentRevision: row?.revision ?? null,
    createdAt: (row?.createdAt ?? rev.createdAt).toISOString(),
    updatedAt: rev.createdAt.toISOString(),
  };
}

/** Every revision of a resource, newest first, with the change request that wrote it. */
export async function resourceHistory(
  db: Db,
  actor: Actor,
  rawInput: ResourceRefInput,
): Promise<ResourceHistory> {
  const input = parseInput(ZResourceRefInput, rawInput);
  requireRole(actor, "viewer", input.namespace);
  const rows = await db.resourceRevision.findMany({
    where: { kind: input.kind, namespace: input.namespace, name: input.name },
    orderBy: { revision: "desc" },
    include: {
      changeRequest: { select: { id: true, number: true, title: true, author: { select: { name: true } } } },
    },
  });
  if (rows.length === 0) {
    const exists = await db.resource.count({
      where: { kind: input.kind, namespace: input.namespace, name: input.name },
    });
    if (exists === 0) throw new AppError("NOT_FOUND", `no ${input.kind} ${input.namespace}/${input.name}`);
  }
  return {
    kind: input.kind,
    namespace: input.namespace,
    name: input.name,
    items: rows.map((r) => ({
      revision: r.revision,
      spec: (r.spec as Spec | null) ?? null,
      change: r.changeRequest
        ? { id: r.changeRequest.id, number: r.changeRequest.number, title: r.changeRequest.title }
        : null,
      author: r.changeRequest?.author.name ?? null,
      createdAt: r.createdAt.toISOString(),
    })),
  };
}
