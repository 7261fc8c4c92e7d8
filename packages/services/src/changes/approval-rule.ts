// Which approvals a change has, and how many it needs: judged when the change is applied, never frozen when
// it was opened. The approval that would apply a change, and every screen that shows "approvals 1/2", ask
// this module, so what people see is what the apply decides.
//
//   needed   the strictest requiredApprovals among the change's namespaces, as the settings are now
//   counted  approvals ("approve" decisions) by users who, now: are not the change's author, are not
//            disabled, and hold the approver role in every namespace the change touches
//
// An approval given by someone who has since lost the role (or been disabled) stays in the change's history
// and in the audit log, but no longer counts.
import { DEFAULT_REQUIRED_APPROVALS, hasRole, type Role } from "@trellis/contracts";
import type { Db, Prisma } from "@trellis/db";

export interface ApprovalTally {
  /** Approvals the change needs, from the namespace settings in force. */
  required: number;
  /** Approvals that count under the rule above. */
  counted: number;
}

/** What the rule reads of a change. */
export interface TallyInput {
  authorId: string;
  operations: readonly { namespace: string }[];
  approvals: readonly { userId: string; decision: string }[];
}

type Reader = Pick<Db | Prisma.TransactionClient, "namespaceSetting" | "user">;

/**
 * Loads what the rule needs for a set of changes in two queries (the settings of their namespaces, the
 * current roles of their approvers) and returns the tally of each.
 */
export async function loadApprovalRule(
  db: Reader,
  changes: readonly TallyInput[],
): Promise<(change: TallyInput) => ApprovalTally> {
  const namespaces = [...new Set(changes.flatMap((c) => c.operations.map((o) => o.namespace)))];
  const approvers = [
    ...new Set(
      changes.flatMap((c) => c.approvals.filter((a) => a.decision === "approve").map((a) => a.userId)),
    ),
  ];
  const [settings, users] = await Promise.all([
    namespaces.length === 0
      ? Promise.resolve([])
      : db.namespaceSetting.findMany({ where: { namespace: { in: namespaces } } }),
    approvers.length === 0
      ? Promise.resolve([])
      : db.user.findMany({
          where: { id: { in: approvers } },
          select: { id: true, disabled: true, roleBindings: { select: { role: true, namespace: true } } },
        }),
  ]);
  const requiredIn = new Map(settings.map((s) => [s.namespace, s.requiredApprovals]));
  const bindingsOf = new Map(
    users
      .filter((u) => !u.disabled)
      .map((u) => [u.id, u.roleBindings as { role: Role; namespace: string }[]]),
  );
  return (change) => {
    const ns = [...new Set(change.operations.map((o) => o.namespace))];
    const required = Math.max(
      DEFAULT_REQUIRED_APPROVALS,
      ...ns.map((n) => requiredIn.get(n) ?? DEFAULT_REQUIRED_APPROVALS),
    );
    const counted = change.approvals.filter((a) => {
      if (a.decision !== "approve" || a.userId === change.authorId) return false;
      const bindings = bindingsOf.get(a.userId);
      return bindings !== undefined && ns.every((n) => hasRole(bindings, "approver", n));
    }).length;
    return { required, counted };
  };
}

/** The tally of one change. */
export async function tallyApprovals(db: Reader, change: TallyInput): Promise<ApprovalTally> {
  return (await loadApprovalRule(db, [change]))(change);
}
