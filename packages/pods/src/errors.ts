// One error class for the whole package, with stable codes, so a test or the CLI can tell "not root" from
// "that subnet is taken" without matching messages. Messages are one line and start with "trellis pods:".

export type PodsErrorCode =
  /** Not Linux, not root, `ip`/`iptables` missing, or no network namespaces: nothing here can work. */
  | "PODS_UNSUPPORTED"
  /** A pod, host or bed name, an address or a subnet that is not valid. */
  | "PODS_INVALID"
  /** The subnet overlaps an address or route on this machine, or another bed's subnet. */
  | "PODS_SUBNET_OVERLAP"
  /** No free subnet in the default pool, or no free address in the bed's subnet. */
  | "PODS_EXHAUSTED"
  /** A pod of that name exists already (in this bed, or as a network namespace on the machine). */
  | "PODS_NAME_TAKEN"
  /** `ip`, `iptables-restore` or a process in a pod failed; the message carries its stderr. */
  | "PODS_COMMAND_FAILED"
  /** The bed or pod was destroyed. */
  | "PODS_DESTROYED"
  /** Another process held the state lock for too long. */
  | "PODS_LOCK_TIMEOUT";

export class PodsError extends Error {
  readonly code: PodsErrorCode;
  constructor(code: PodsErrorCode, message: string, options?: { cause?: unknown }) {
    super(`trellis pods: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PodsError";
    this.code = code;
  }
}
