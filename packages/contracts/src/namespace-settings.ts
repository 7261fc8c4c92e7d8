import { z } from "zod";
import { ZNamespace, ZNewNamespace } from "./names.js";

/** How many approvals a change request in a namespace needs before it is applied (1 to 10). */
export const ZRequiredApprovals = z.number().int().min(1).max(10);
export const DEFAULT_REQUIRED_APPROVALS = 1;

/** Per-namespace settings that are not traffic policy. A namespace nobody configured has the defaults. */
export const ZNamespaceSettings = z.object({
  namespace: ZNamespace,
  requiredApprovals: ZRequiredApprovals,
  updatedAt: z.iso.datetime().nullable().describe("null: never set, the defaults apply"),
});
export type NamespaceSettings = z.infer<typeof ZNamespaceSettings>;

export const ZNamespaceSettingsGetInput = z.object({ namespace: ZNamespace });

export const ZNamespaceSettingsSetInput = z.object({
  namespace: ZNewNamespace,
  requiredApprovals: ZRequiredApprovals.describe("approvals a change request needs (1 to 10)"),
});
export type NamespaceSettingsSetInput = z.infer<typeof ZNamespaceSettingsSetInput>;
