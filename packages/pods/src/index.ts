// @trellis/pods: the pod test bed. Pods are Linux network namespaces with their own addresses on a bridge,
// grouped into "hosts", with partitions and faults between them, and always cleaned up. Linux and root only;
// Node built-ins only. See README.md for the API and docs/decisions/012-pod-bed.md for why it is built so.
export { createBed, Bed, type AddPodOptions, type BedOptions } from "./bed.js";
export { relay, type Exposed, type ExposeOptions } from "./expose.js";
export { Pod, type ExecOptions, type ExecResult, type SpawnOptions } from "./pod.js";
export { list, sweep, type BedListing, type Listing, type SweepReport, type SweptBed } from "./sweep.js";
export { PodsError, type PodsErrorCode } from "./errors.js";
export type { FaultMode } from "./rules.js";
export { unsupportedReason } from "./system.js";
export { DEFAULT_POOL, VIP_RANGE } from "./addresses.js";
export { STATE_DIR } from "./state.js";
