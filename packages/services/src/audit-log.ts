// Reading the audit log. Writing is audit() in audit.ts; there is deliberately no update or delete, here or
// in any API, and the database refuses both (see the migration's append-only trigger).
import { ALL_NAMESPACES, type AuditEvent, type AuditPage } from "@trellis/contracts";
import type { Db } from "@trellis/db";
import { requireRole, type Actor } from "./actor.js";
import { administeredNamespaces } from "./role-bindings.js";

export interface AuditQuery {
  actor?: string;
  action?: string;
  targetKind?: string;
  targetId?: string;
  namespace?: string;
  since?: Date;
  until?: Date;
  limit: number;
  cursor?: string;
}

/**
 * A page of audit events, newest first. Mesh-wide admins read everything; a namespace admin reads the
 * events of the namespaces they administer (events without a namespace, such as user management, are for
 * mesh-wide admins only). `action: "role"` matches `role` and every `role.*` action.
 */
export async function listAuditEvents(db: Db, actor: Actor, q: AuditQuery): Promise<AuditPage> {
  const admins = administeredNamespaces(actor);
  if (q.namespace) requireRole(actor, "admin", q.namespace);
  else if (admins.length === 0) requireRole(actor, "admin");
  const scope = q.namespace
    ? { namespace: q.namespace }
    : admins.includes(ALL_NAMESPACES)
      ? {}
      : { namespace: { in: admins } };
  const rows = await db.auditEvent.findMany({
    where: {
      ...scope,
      ...(q.actor ? { actorName: q.actor } : {}),
      ...(q.action ? { OR: [{ action: q.action }, { action: { startsWith: `${q.action}.` } }] } : {}),
      ...(q.targetKind ? { targetKind: q.targetKind } : {}),
      ...(q.targetId ? { targetId: q.targetId } : {}),
      ...(q.since || q.until
        ? { at: { ...(q.since ? { gte: q.since } : {}), ...(q.until ? { lt: q.until } : {}) } }
        : {}),
      ...(q.cursor ? { id: { lt: BigInt(q.cursor) } } : {}),
    },
    orderBy: { id: "desc" },
    take: q.limit + 1,
  });
  const page = rows.slice(0, q.limit);
  return {
    items: page.map((e): AuditEvent => ({
      id: e.id.toString(),
      at: e.at.toISOString(),
      actorKind: e.actorKind,
      actorId: e.actorId,
      actorName: e.actorName,
      via: e.via,
      action: e.action,
      targetKind: e.targetKind,
      targetId: e.targetId,
      namespace: e.namespace,
      details:
        e.details && typeof e.details === "object" && !Array.isArray(e.details)
          ? (e.details as Record<string, unknown>)
          : {},
      ip: e.ip,
      userAgent: e.userAgent,
    })),
    nextCursor: rows.length > q.limit ? page[page.length - 1]!.id.toString() : null,
  };
}
