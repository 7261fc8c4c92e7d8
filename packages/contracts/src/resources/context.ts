import type { ServiceRef } from "./common.js";
import type { Resource } from "./resource.js";

/**
 * What semantic validation may know about the mesh beyond the resource itself. Every part is optional: a check
 * whose input is missing is skipped (the CLI validating a file offline passes `{}`).
 */
export interface ValidationContext {
  /** The registry: services with their versions and workload counts. Absent: registry checks are skipped. */
  services?: readonly RegistryServiceInfo[];
  /** Who called whom recently (from telemetry). Absent: the "cuts off every caller" check is skipped. */
  traffic?: readonly TrafficEdge[];
  /**
   * The other resources in force. The resource being validated replaces the one with its kind, namespace and
   * name. Used for conflicts (two Routes for one service) and to judge AccessPolicies together.
   */
  resources?: readonly Resource[];
}

export interface RegistryServiceInfo {
  namespace: string;
  name: string;
  /** `http` unless said otherwise. */
  protocol?: "http" | "tcp";
  /** Versions that have registered workloads. */
  versions: readonly RegistryVersionInfo[];
}

export interface RegistryVersionInfo {
  version: string;
  /** Registered workloads of this version. */
  workloads: number;
  /** Of those, connected now. Absent: unknown. */
  healthyWorkloads?: number;
}

/** One caller → callee pair seen in telemetry. */
export interface TrafficEdge {
  source: ServiceRef;
  destination: ServiceRef;
}

export function findService(ctx: ValidationContext, ref: ServiceRef): RegistryServiceInfo | undefined {
  return ctx.services?.find((s) => s.namespace === ref.namespace && s.name === ref.service);
}

/** The resources of one kind in force, with `self` in place of its previous revision. */
export function othersInForce<K extends Resource["kind"]>(
  ctx: ValidationContext,
  self: Extract<Resource, { kind: K }>,
): Extract<Resource, { kind: K }>[] {
  return (ctx.resources ?? []).filter(
    (r): r is Extract<Resource, { kind: K }> =>
      r.kind === self.kind &&
      !(r.metadata.namespace === self.metadata.namespace && r.metadata.name === self.metadata.name),
  );
}
