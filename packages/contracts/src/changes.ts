import { z } from "zod";
import { ZFieldIssue } from "./errors.js";
import { ZDnsLabel, ZNamespace, ZServiceName, ZVersion } from "./names.js";
import { ZResourceKind } from "./resources/common.js";
import { zSingleLine, zText } from "./text.js";

/**
 * Most operations one change request may hold, and so most documents in its YAML: a change is reviewed as
 * one, and a thousand-document change is not reviewed. Split bigger ones.
 */
export const MAX_CHANGE_OPERATIONS = 100;

/**
 * Resources as the API returns them, and change requests: the only way a resource is created, updated or
 * deleted. The console, the CLI (`trellis apply|get|approve|reject|rollback`) and scripts all use these
 * shapes; the service layer (`@trellis/services` resources.ts, changes.ts, impact.ts) fills them.
 *
 * When to edit this file: when a change request or resource view gains a field. Add it here first, then in
 * the service that fills it; the REST/OpenAPI surface follows from the procedures' `.output()`.
 */

// --- resources ---------------------------------------------------------------------------------------------

/** A spec as stored: exactly what the author wrote, checked by its kind's schema when it was proposed. */
export const ZStoredSpec = z.record(z.string(), z.unknown()).describe("the resource's spec, as written");

/** A resource in force now. */
export const ZResourceItem = z.object({
  kind: ZResourceKind,
  namespace: ZNamespace,
  name: ZDnsLabel,
  revision: z
    .number()
    .int()
    .positive()
    .describe("bumped by every applied change; what baseRevision refers to"),
  spec: ZStoredSpec,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type ResourceItem = z.infer<typeof ZResourceItem>;

export const ZResourceListInput = z.object({
  kind: ZResourceKind.optional().describe("only resources of this kind"),
  namespace: ZNamespace.optional().describe("only resources in this namespace"),
});
export type ResourceListInput = z.infer<typeof ZResourceListInput>;

export const ZResourceList = z.object({ items: z.array(ZResourceItem) });
export type ResourceList = z.infer<typeof ZResourceList>;

export const ZResourceRefInput = z.object({
  kind: ZResourceKind,
  namespace: ZNamespace,
  name: ZDnsLabel,
});
export type ResourceRefInput = z.infer<typeof ZResourceRefInput>;

export const ZResourceGetInput = ZResourceRefInput.extend({
  revision: z.number().int().positive().optional().describe("an earlier revision; absent: the one in force"),
});
export type ResourceGetInput = z.infer<typeof ZResourceGetInput>;

/** The change request that wrote a revision, in brief. */
export const ZChangeRef = z.object({
  id: z.string(),
  number: z.number().int(),
  title: z.string(),
});
export type ChangeRef = z.infer<typeof ZChangeRef>;

/** One revision of a resource. A deletion is a revision with `spec: null`. */
export const ZResourceRevisionItem = z.object({
  revision: z.number().int().positive(),
  spec: ZStoredSpec.nullable().describe("null: deleted in this revision"),
  change: ZChangeRef.nullable().describe("the change request that wrote it; null when written otherwise"),
  author: z.string().nullable().describe("who proposed that change"),
  createdAt: z.iso.datetime(),
});
export type ResourceRevisionItem = z.infer<typeof ZResourceRevisionItem>;

export const ZResourceDetail = ZResourceItem.omit({ revision: true, spec: true }).extend({
  revision: z.number().int().positive().describe("the revision returned"),
  spec: ZStoredSpec.nullable().describe("null when the requested revision deleted the resource"),
  currentRevision: z.number().int().positive().nullable().describe("the revision in force; null: deleted"),
});
export type ResourceDetail = z.infer<typeof ZResourceDetail>;

export const ZResourceHistory = z.object({
  kind: ZResourceKind,
  namespace: ZNamespace,
  name: ZDnsLabel,
  items: z.array(ZResourceRevisionItem).describe("newest first"),
});
export type ResourceHistory = z.infer<typeof ZResourceHistory>;

// --- change requests: input ----------------------------------------------------------------------------------

export const CHANGE_STATUSES = [
  "open",
  "approved",
  "rejected",
  "applying",
  "applied",
  "failed",
  "stale",
  "cancelled",
  "rolled_back",
] as const;
export const ZChangeStatus = z.enum(CHANGE_STATUSES);
export type ChangeStatus = z.infer<typeof ZChangeStatus>;

export const ZChangeAction = z.enum(["create", "update", "delete"]);
export type ChangeAction = z.infer<typeof ZChangeAction>;

/**
 * A resource document (`apiVersion`, `kind`, `metadata`, `spec`), checked by the service with the kind's
 * schema so that problems come back as `operations[0].spec.rules[0].backends[1].weight` rather than as a
 * generic request error.
 */
export const ZResourceDocument = z
  .record(z.string(), z.unknown())
  .describe("a resource: { apiVersion: trellis.dev/v1alpha1, kind, metadata: { name, namespace }, spec }");

/**
 * One operation. `baseRevision` is the revision the author saw: if the resource has moved on when the change
 * is applied, nothing is applied and the change becomes `stale`.
 */
export const ZChangeOperationInput = z.discriminatedUnion("action", [
  z.object({
    action: z.literal("create"),
    resource: ZResourceDocument,
  }),
  z.object({
    action: z.literal("update"),
    resource: ZResourceDocument,
    baseRevision: z.number().int().positive().describe("the revision you edited"),
  }),
  z.object({
    action: z.literal("delete"),
    kind: ZResourceKind,
    namespace: ZNamespace,
    name: ZDnsLabel,
    baseRevision: z.number().int().positive().describe("the revision you saw"),
  }),
]);
export type ChangeOperationInput = z.infer<typeof ZChangeOperationInput>;

/**
 * A new change request: either `operations`, or `yaml` (one or more `---`-separated resource documents, as
 * `trellis apply -f` posts a file). For YAML, each document creates the resource or updates the one in force
 * (its base revision is the one in force when the request is made).
 */
export const ZChangeCreateInput = z
  .object({
    title: zSingleLine({ min: 1, max: 200 }),
    description: zText({ max: 10_000 }).optional(),
    operations: z
      .array(ZChangeOperationInput)
      .min(1, "give at least one operation")
      .max(MAX_CHANGE_OPERATIONS, `a change holds at most ${MAX_CHANGE_OPERATIONS} operations`)
      .optional(),
    yaml: z.string().min(1).max(1_000_000).optional().describe("resource documents; instead of operations"),
  })
  .refine((v) => (v.operations === undefined) !== (v.yaml === undefined), {
    message: "give operations or yaml (one of them)",
    path: ["operations"],
  });
export type ChangeCreateInput = z.infer<typeof ZChangeCreateInput>;

/** A change request by id or by its number (`42`, as `trellis get change 42` passes it). */
export const ZChangeIdInput = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^#?[A-Za-z0-9_-]+$/, "must be a change's id or number (42 or #42)")
    .describe("the change's id, or its number"),
});
export type ChangeIdInput = z.infer<typeof ZChangeIdInput>;

export const ZChangeDecisionInput = ZChangeIdInput.extend({
  comment: zText({ max: 5_000 }).optional().describe("why; shown with the decision"),
});
export type ChangeDecisionInput = z.infer<typeof ZChangeDecisionInput>;

export const ZChangeRollbackInput = ZChangeIdInput.extend({
  title: zSingleLine({ min: 1, max: 200 }).optional().describe('default "Roll back #N: <title>"'),
  description: zText({ max: 10_000 }).optional(),
  fastTrackReason: zText({ max: 2_000 })
    .trim()
    .min(3, "say why the rollback cannot wait for an approval")
    .optional()
    .describe("admins only: apply at once, without approvals; the reason is recorded"),
});
export type ChangeRollbackInput = z.infer<typeof ZChangeRollbackInput>;

export const ZChangeListInput = z.object({
  status: ZChangeStatus.optional().describe("only changes in this status"),
  namespace: ZNamespace.optional().describe("only changes touching this namespace"),
  limit: z.number().int().min(1).max(200).optional().describe("at most this many, newest first (default 50)"),
});
export type ChangeListInput = z.infer<typeof ZChangeListInput>;

// --- change requests: output ---------------------------------------------------------------------------------

/** Validation of every operation against the mesh as it is now. Errors block creation and approval. */
export const ZChangeValidation = z.object({
  valid: z.boolean().describe("no errors"),
  errors: z
    .array(ZFieldIssue)
    .describe(
      "each in its operation's document: `at.doc` is the operation (or YAML document), `path` reads operations[0].spec.rules[0].backends[1].weight",
    ),
  warnings: z.array(ZFieldIssue),
});
export type ChangeValidation = z.infer<typeof ZChangeValidation>;

export const ZChangeOperation = z.object({
  index: z.number().int().nonnegative(),
  action: ZChangeAction,
  kind: ZResourceKind,
  namespace: ZNamespace,
  name: ZDnsLabel,
  baseRevision: z.number().int().positive().nullable().describe("null for a create"),
  currentRevision: z
    .number()
    .int()
    .positive()
    .nullable()
    .describe("the revision in force now; null: the resource does not exist"),
  stale: z.boolean().describe("the resource moved on since baseRevision (only for changes not yet applied)"),
  before: ZStoredSpec.nullable().describe("spec at baseRevision: the left side of the diff"),
  after: ZStoredSpec.nullable().describe("spec this change writes (null for a delete): the right side"),
  errors: z.array(ZFieldIssue).describe("relative to the resource (spec.rules[0]…): `at` has no `doc`"),
  warnings: z.array(ZFieldIssue),
});
export type ChangeOperation = z.infer<typeof ZChangeOperation>;

export const ZApprovalItem = z.object({
  user: z.string().describe("user name"),
  decision: z.enum(["approve", "reject"]),
  comment: z.string(),
  createdAt: z.iso.datetime(),
});
export type ApprovalItem = z.infer<typeof ZApprovalItem>;

export const ZRolloutState = z.enum(["pending", "acked", "nacked"]);

export const ZRolloutProxy = z.object({
  workloadId: z.string(),
  namespace: ZNamespace,
  service: ZServiceName,
  version: ZVersion,
  address: z.string(),
  state: ZRolloutState,
  configVersion: z.string(),
  reason: z.string().nullable().describe("why the proxy refused the config (nacked)"),
  updatedAt: z.iso.datetime(),
});
export type RolloutProxy = z.infer<typeof ZRolloutProxy>;

/** How a change's config generation reached the proxies. */
export const ZRollout = z.object({
  changeId: z.string(),
  generation: z.number().int().nullable().describe("config generation; null: not applied"),
  state: z
    .enum(["not_applied", "waiting", "in_progress", "complete", "failed"])
    .describe(
      "waiting: applied, no proxy has reported yet; failed: at least one proxy refused it (see reasons)",
    ),
  total: z.number().int().nonnegative(),
  acked: z.number().int().nonnegative(),
  nacked: z.number().int().nonnegative(),
  pending: z.number().int().nonnegative(),
  proxies: z.array(ZRolloutProxy),
});
export type Rollout = z.infer<typeof ZRollout>;

export const ZChangeSummary = z.object({
  id: z.string(),
  number: z.number().int(),
  title: z.string(),
  status: ZChangeStatus,
  source: z.enum(["console", "api", "cli", "system"]),
  author: z.string().describe("user name"),
  namespaces: z.array(ZNamespace).describe("namespaces the change touches"),
  operationCount: z.number().int().nonnegative().describe("how many resource operations"),
  requiredApprovals: z.number().int().nonnegative(),
  approvalCount: z.number().int().nonnegative().describe("approvals so far"),
  rollbackOf: ZChangeRef.nullable().describe("the change this one undoes"),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  appliedAt: z.iso.datetime().nullable(),
});
export type ChangeSummary = z.infer<typeof ZChangeSummary>;

export const ZChangeList = z.object({ items: z.array(ZChangeSummary) });
export type ChangeList = z.infer<typeof ZChangeList>;

/** Everything the change's page shows, and what `trellis get change ID` prints. */
export const ZChange = ZChangeSummary.extend({
  description: z.string(),
  fastTrackReason: z.string().nullable().describe("set when an admin applied a rollback without approvals"),
  operations: z.array(ZChangeOperation),
  validation: ZChangeValidation,
  approvals: z.array(ZApprovalItem),
  rolledBackBy: z.array(ZChangeRef).describe("rollbacks of this change"),
  rollout: ZRollout,
});
export type Change = z.infer<typeof ZChange>;

// --- impact preview ------------------------------------------------------------------------------------------

export const ZImpactService = z.object({
  namespace: ZNamespace,
  name: ZServiceName,
  registered: z.boolean().describe("whether any proxy has registered this service"),
  requestsPerSecond: z.number().nonnegative().describe("average over the last hour"),
});

export const ZImpactProxy = z.object({
  workloadId: z.string(),
  namespace: ZNamespace,
  service: ZServiceName,
  version: ZVersion,
  address: z.string(),
  status: z.enum(["connected", "disconnected"]),
  role: z
    .enum(["destination", "caller", "mesh"])
    .describe("destination: serves the service; caller: called it in the last hour; mesh: every proxy"),
});

/** A caller whose requests an AccessPolicy change would refuse (or stop refusing). */
export const ZImpactAccess = z.object({
  operation: z.number().int().nonnegative(),
  destination: z.object({ namespace: ZNamespace, service: ZServiceName }),
  source: z.object({ namespace: ZNamespace, service: ZServiceName }),
  before: z.enum(["allowed", "denied", "partial"]),
  after: z.enum(["allowed", "denied", "partial"]),
  requestsPerMinute: z.number().nonnegative().describe("its average over the last hour"),
  summary: z.string().describe('"would have denied 1,240 requests/min from shop/frontend to shop/ratings"'),
});

/**
 * For each service an AccessPolicy change protects: how much of the last hour's traffic to it the change would
 * have refused. Spelled out even when it is none, so "0 of 3,600 requests" can be shown, not just an absence.
 */
export const ZImpactAccessTotal = z.object({
  operation: z
    .number()
    .int()
    .nonnegative()
    .describe("the first operation that touches the service's policies"),
  destination: z.object({ namespace: ZNamespace, service: ZServiceName }),
  requests: z.number().nonnegative().describe("requests (or connections) to the service in the last hour"),
  deniedRequests: z
    .number()
    .nonnegative()
    .describe("of those, requests from callers refused after the change that were not refused before"),
  partialRequests: z
    .number()
    .nonnegative()
    .describe("requests from callers newly refused some methods or paths (how many of theirs is unknown)"),
  summary: z.string().describe('"would have refused 0 of the last hour\'s 3,600 requests to shop/ratings"'),
});

/** How a Route change moves a service's traffic between versions. */
export const ZImpactRoute = z.object({
  operation: z.number().int().nonnegative(),
  namespace: ZNamespace,
  service: ZServiceName,
  requestsPerSecond: z.number().nonnegative().describe("to the service, average over the last hour"),
  versions: z.array(
    z.object({
      version: ZVersion,
      observedShare: z.number().min(0).max(1).describe("share seen in the last hour"),
      newShare: z.number().min(0).max(1).describe("share after the change (the rule matching every request)"),
      requestsPerSecond: z.number().nonnegative().describe("newShare × the service's rate"),
    }),
  ),
  conditional: z
    .boolean()
    .describe(
      "rules with conditions come first: their share cannot be told from telemetry, newShare is the rest's",
    ),
  summary: z.string().describe('"sends 10% of 350 req/s to shop/reviews v2"'),
});

export const ZImpact = z.object({
  window: z.object({ from: z.iso.datetime(), to: z.iso.datetime() }),
  services: z.array(ZImpactService),
  proxies: z.array(ZImpactProxy),
  access: z.array(ZImpactAccess),
  accessTotals: z.array(ZImpactAccessTotal),
  routes: z.array(ZImpactRoute),
});
export type Impact = z.infer<typeof ZImpact>;

/** A change that is not saved yet: validated and previewed, nothing written (the console's editor). */
export const ZChangePreviewInput = z
  .object({
    operations: z.array(ZChangeOperationInput).min(1).max(MAX_CHANGE_OPERATIONS).optional(),
    yaml: z.string().min(1).max(1_000_000).optional(),
  })
  .refine((v) => (v.operations === undefined) !== (v.yaml === undefined), {
    message: "give operations or yaml (one of them)",
    path: ["operations"],
  });
export type ChangePreviewInput = z.infer<typeof ZChangePreviewInput>;

export const ZChangePreview = z.object({
  operations: z.array(ZChangeOperation),
  validation: ZChangeValidation,
  impact: ZImpact,
});
export type ChangePreview = z.infer<typeof ZChangePreview>;
