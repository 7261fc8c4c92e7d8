// @trellis/pods: the pod test bed. Pods are Linux network namespaces with their own addresses on a bridge,
// grouped into "hosts", with partitions and faults between them, and always cleaned up. Linux and root only;
// Node built-ins only.
export { PodsError, type PodsErrorCode } from "./errors.js";
export type { FaultMode } from "./rules.js";
export { DEFAULT_POOL, VIP_RANGE } from "./addresses.js";
