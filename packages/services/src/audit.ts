import type { Db } from "@trellis/db";
import type { Actor } from "./actor.js";

export interface AuditInput {
  action: string;
  targetKind?: string;
  targetId?: string;
  namespace?: string;
  details?: Record<string, unknown>;
}

/** Appends one audit event. Never pass secrets in `details`: the log is read by admins and is permanent. */
export async function audit(db: Pick<Db, "auditEvent">, actor: Actor, input: AuditInput): Promise<void> {
  await db.auditEvent.create({
    data: {
      actorKind: actor.kind,
      actorId: actor.userId,
      actorName: actor.name,
      via: actor.via,
      action: input.action,
      targetKind: input.targetKind ?? null,
      targetId: input.targetId ?? null,
      namespace: input.namespace ?? null,
      details: (input.details ?? {}) as object,
      ip: actor.ip ?? null,
      userAgent: actor.userAgent ?? null,
    },
  });
}
