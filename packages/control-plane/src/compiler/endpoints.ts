import { ZHostPort, ZVersion } from "@trellis/contracts";
import type { RegistryService, RegistryWorkload } from "./input.js";
import type { EndpointInput } from "./proxy-types.js";
import { cmp } from "./util.js";

/**
 * The endpoints of a service: its healthy workloads, each with weight 1, so a split over versions gives each
 * workload of a version an equal share and "no Route" spreads requests evenly over workloads. Sorted by
 * version, then address, then id: the order is part of the config's hash.
 *
 * A workload whose stored address or version the proxy config would refuse (a row written before the hello
 * was validated, or by hand) is left out: one bad registry row must cost its own endpoint, not every proxy's
 * config. The server logs it (`endpointProblem`).
 */
export function compileEndpoints(svc: RegistryService): EndpointInput[] {
  return svc.workloads
    .filter((w) => w.healthy && endpointProblem(w) === null)
    .slice()
    .sort((a, b) => cmp(a.version, b.version) || cmp(a.address, b.address) || cmp(a.id, b.id))
    .map((w) => ({ address: w.address, version: w.version, weight: 1, labels: { workload: w.id } }));
}

/** Why a workload cannot be an endpoint (its stored address or version does not parse), or null. */
export function endpointProblem(w: Pick<RegistryWorkload, "address" | "version">): string | null {
  if (!ZHostPort.safeParse(w.address).success)
    return `address ${JSON.stringify(w.address.slice(0, 100))} is not host:port`;
  if (!ZVersion.safeParse(w.version).success)
    return `version ${JSON.stringify(w.version.slice(0, 100))} is not a DNS label`;
  return null;
}
