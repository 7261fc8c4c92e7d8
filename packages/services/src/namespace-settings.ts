// Per-namespace settings that are not traffic policy. Today: how many approvals a change request needs.
import {
  DEFAULT_REQUIRED_APPROVALS,
  ZNamespaceSettingsSetInput,
  type NamespaceSettings,
} from "@trellis/contracts";
import type { Db } from "@trellis/db";
import { requireRole, type Actor } from "./actor.js";
import { audit } from "./audit.js";
import { parseInput } from "./errors.js";

/** Approvals a change request in `namespace` needs (no permission check: for other services' use). */
export async function requiredApprovalsFor(db: Pick<Db, "namespaceSetting">, namespace: string) {
  const row = await db.namespaceSetting.findUnique({ where: { namespace } });
  return row?.requiredApprovals ?? DEFAULT_REQUIRED_APPROVALS;
}

/** Anyone who can read the namespace can read its settings (editors need to know what a change takes). */
export async function getNamespaceSettings(
  db: Db,
  actor: Actor,
  namespace: string,
): Promise<NamespaceSettings> {
  requireRole(actor, "viewer", namespace);
  const row = await db.namespaceSetting.findUnique({ where: { namespace } });
  return {
    namespace,
    requiredApprovals: row?.requiredApprovals ?? DEFAULT_REQUIRED_APPROVALS,
    updatedAt: row ? row.updatedAt.toISOString() : null,
  };
}

/**
 * Admins of the namespace only. Takes effect for open change requests too: the count is read when a change
 * is approved (changes/approval-rule.ts), not frozen when it opened.
 */
export async function setNamespaceSettings(
  db: Db,
  actor: Actor,
  rawInput: { namespace: string; requiredApprovals: number },
): Promise<NamespaceSettings> {
  const input = parseInput(ZNamespaceSettingsSetInput, rawInput);
  requireRole(actor, "admin", input.namespace);
  return db.$transaction(async (tx) => {
    const before = await tx.namespaceSetting.findUnique({ where: { namespace: input.namespace } });
    const row = await tx.namespaceSetting.upsert({
      where: { namespace: input.namespace },
      create: { namespace: input.namespace, requiredApprovals: input.requiredApprovals },
      update: { requiredApprovals: input.requiredApprovals },
    });
    await audit(tx, actor, {
      action: "namespaceSetting.update",
      targetKind: "NamespaceSetting",
      targetId: input.namespace,
      namespace: input.namespace,
      details: {
        requiredApprovals: {
          from: before?.requiredApprovals ?? DEFAULT_REQUIRED_APPROVALS,
          to: row.requiredApprovals,
        },
      },
    });
    return {
      namespace: row.namespace,
      requiredApprovals: row.requiredApprovals,
      updatedAt: row.updatedAt.toISOString(),
    };
  });
}
