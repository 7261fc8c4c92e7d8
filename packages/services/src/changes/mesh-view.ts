// The part of the mesh a change request is judged against: the registry, the resources in force in the
// namespaces it touches, and the last hour of traffic to those namespaces. A handful of indexed queries,
// shared by validation and the impact preview.
import {
  parseStoredResource,
  storedDocument,
  validateResource,
  type FieldIssue,
  type RegistryServiceInfo,
  type Resource,
  type TrafficEdge,
  type ValidationContext,
} from "@trellis/contracts";
import type { Db } from "@trellis/db";
import {
  STORED_OPERATIONS,
  keyOf,
  namespacesOf,
  resourceIssue,
  type PlanSource,
  type PlannedOp,
  type ResourceKey,
} from "./plan.js";

export const TRAFFIC_WINDOW_MS = 3_600_000;

/** Requests in the window between two services, per destination version (the larger of the two reports). */
export interface TrafficRow {
  sourceNamespace: string;
  sourceService: string;
  destNamespace: string;
  destService: string;
  destVersion: string;
  requests: number;
}

/** Requests in the window by caller, method and path prefix, as the callee's sidecars observed them (decision 006). */
export interface AccessRow {
  sourceNamespace: string;
  sourceService: string;
  destNamespace: string;
  destService: string;
  method: string;
  path: string;
  requests: number;
}

export interface MeshView {
  from: Date;
  to: Date;
  services: RegistryServiceInfo[];
  /** Resources in force in the namespaces the change touches, parsed; the stored revision beside each. */
  resources: Map<string, { resource: Resource; revision: number }>;
  traffic: TrafficRow[];
  /** Access observations towards the namespaces of the change's AccessPolicies (empty without any). */
  access: AccessRow[];
}

/**
 * Loads what validation and impact need for operations in `namespaces`. Traffic is read only towards those
 * namespaces (the `destNamespace, bucket` index), or towards every namespace for MeshSettings.
 */
export async function loadMeshView(db: Db, ops: readonly PlannedOp[], now = new Date()): Promise<MeshView> {
  const namespaces = namespacesOf(ops);
  const meshWide = ops.some((o) => o.kind === "MeshSettings");
  // The last 60 complete minutes: a rollup bucket is one minute, and the current one is still filling.
  const to = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  const from = new Date(to.getTime() - TRAFFIC_WINDOW_MS);
  // Only an AccessPolicy is judged by method and path: other changes do not read the observations.
  const accessNamespaces = [...new Set(ops.filter((o) => o.kind === "AccessPolicy").map((o) => o.namespace))];
  const [serviceRows, versionRows, resourceRows, trafficRows, accessRows] = await Promise.all([
    db.service.findMany({ select: { id: true, namespace: true, name: true, protocol: true } }),
    db.workload.groupBy({ by: ["serviceId", "version", "status"], _count: { _all: true } }),
    db.resource.findMany({ where: { namespace: { in: namespaces } } }),
    db.telemetryRollup.groupBy({
      by: ["sourceNamespace", "sourceService", "destNamespace", "destService", "destVersion", "reporter"],
      where: { bucket: { gte: from, lt: to }, ...(meshWide ? {} : { destNamespace: { in: namespaces } }) },
      _sum: { requests: true },
    }),
    accessNamespaces.length === 0
      ? []
      : db.telemetryAccessRollup.groupBy({
          by: ["sourceNamespace", "sourceService", "destNamespace", "destService", "method", "path"],
          where: { bucket: { gte: from, lt: to }, destNamespace: { in: accessNamespaces } },
          _sum: { requests: true },
        }),
  ]);

  const versions = new Map<string, Map<string, { workloads: number; healthyWorkloads: number }>>();
  for (const v of versionRows) {
    const perService =
      versions.get(v.serviceId) ?? new Map<string, { workloads: number; healthyWorkloads: number }>();
    versions.set(v.serviceId, perService);
    const e = perService.get(v.version) ?? { workloads: 0, healthyWorkloads: 0 };
    e.workloads += v._count._all;
    if (v.status === "connected") e.healthyWorkloads += v._count._all;
    perService.set(v.version, e);
  }
  const services: RegistryServiceInfo[] = serviceRows.map((s) => ({
    namespace: s.namespace,
    name: s.name,
    protocol: s.protocol === "tcp" ? "tcp" : "http",
    versions: [...(versions.get(s.id) ?? new Map()).entries()].map(([version, c]) => ({ version, ...c })),
  }));

  const resources = new Map<string, { resource: Resource; revision: number }>();
  for (const r of resourceRows) {
    const parsed = parseStoredResource(r);
    // A stored resource that no longer parses (an older schema) is left out, as the control plane does.
    if (parsed.ok) resources.set(keyOf(r), { resource: parsed.resource, revision: r.revision });
  }

  // Callers and callees both report a request: keep the larger count, not the sum. Traffic from another
  // namespace counts as the callee's proxies saw it (inbound): a caller's outbound report is another tenant's
  // word about this namespace, and any namespace's proxies could invent one (issue 15: 50,000 invented 503s
  // from other/secsvc made demo's previews warn about denying them). What an AccessPolicy or Route here acts on
  // reaches this namespace's sidecars, so their count is the one that matters anyway.
  const traffic = new Map<string, TrafficRow>();
  for (const t of trafficRows) {
    if (t.reporter === "outbound" && t.sourceNamespace !== t.destNamespace) continue;
    const k = `${t.sourceNamespace}/${t.sourceService}>${t.destNamespace}/${t.destService}/${t.destVersion}`;
    const requests = Number(t._sum.requests ?? 0n);
    const prev = traffic.get(k);
    if (!prev) traffic.set(k, { ...t, requests });
    else prev.requests = Math.max(prev.requests, requests);
  }
  const access = accessRows.map(({ _sum, ...a }) => ({ ...a, requests: Number(_sum.requests ?? 0n) }));
  return { from, to, services, resources, traffic: [...traffic.values()], access };
}

/** The resources in force after `ops` (in the touched namespaces). */
export function resourcesAfter(view: MeshView, ops: readonly PlannedOp[]): Map<string, Resource> {
  const out = new Map<string, Resource>();
  for (const [k, v] of view.resources) out.set(k, v.resource);
  for (const op of ops) {
    if (op.action === "delete") out.delete(keyOf(op));
    else {
      const parsed = parseStoredResource(op);
      if (parsed.ok) out.set(keyOf(op), parsed.resource);
    }
  }
  return out;
}

export interface OpValidation {
  errors: FieldIssue[];
  warnings: FieldIssue[];
}

/**
 * Every operation checked against the mesh as it would be with the whole change applied (so a change that
 * deletes one Route and creates another for the same service is fine). In the flattened issue lists each
 * issue is placed in its operation's document as `source` says (`operations[0].spec…`, or for YAML `[0].spec…`);
 * `perOp` keeps them relative to the resource.
 */
export function validatePlan(
  ops: readonly PlannedOp[],
  view: MeshView | null,
  source: PlanSource = STORED_OPERATIONS,
): { perOp: OpValidation[]; errors: FieldIssue[]; warnings: FieldIssue[] } {
  const ctx: ValidationContext = view
    ? {
        services: view.services,
        traffic: trafficEdges(view),
        resources: [...resourcesAfter(view, ops).values()],
      }
    : {};
  const perOp: OpValidation[] = ops.map((op) =>
    op.action === "delete" ? { errors: [], warnings: [] } : validateResource(storedDocument(op), ctx),
  );
  const errors: FieldIssue[] = [];
  const warnings: FieldIssue[] = [];
  perOp.forEach((v, i) => {
    errors.push(...v.errors.map((x) => resourceIssue(source, i, x)));
    warnings.push(...v.warnings.map((x) => resourceIssue(source, i, x)));
  });
  return { perOp, errors, warnings };
}

function trafficEdges(view: MeshView): TrafficEdge[] {
  const seen = new Set<string>();
  const out: TrafficEdge[] = [];
  for (const t of view.traffic) {
    if (t.requests <= 0) continue;
    const k = `${t.sourceNamespace}/${t.sourceService}>${t.destNamespace}/${t.destService}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({
      source: { namespace: t.sourceNamespace, service: t.sourceService },
      destination: { namespace: t.destNamespace, service: t.destService },
    });
  }
  return out;
}

export type { ResourceKey };
