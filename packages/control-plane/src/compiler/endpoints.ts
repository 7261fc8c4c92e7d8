import type { RegistryService } from "./input.js";
import type { EndpointInput } from "./proxy-types.js";
import { cmp } from "./util.js";

/**
 * The endpoints of a service: its healthy workloads, each with weight 1, so a split over versions gives each
 * workload of a version an equal share and "no Route" spreads requests evenly over workloads. Sorted by
 * version, then address, then id: the order is part of the config's hash.
 */
export function compileEndpoints(svc: RegistryService): EndpointInput[] {
  return svc.workloads
    .filter((w) => w.healthy)
    .slice()
    .sort((a, b) => cmp(a.version, b.version) || cmp(a.address, b.address) || cmp(a.id, b.id))
    .map((w) => ({ address: w.address, version: w.version, weight: 1, labels: { workload: w.id } }));
}
