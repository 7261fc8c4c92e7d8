// A pod's faults and egress guard as iptables rules: a pure function from what the pod should suffer to the
// `iptables-restore --noflush` input that makes it so, applied in one atomic commit inside the pod's own
// namespace. Never in the root namespace: a bed must not change how the machine filters its own traffic, and
// rules in a pod's namespace disappear with it, so there is nothing to clean up.
//
// Three chains of our own in the filter table; INPUT and OUTPUT jump to the first two (installed once).
// Re-declaring a chain in `iptables-restore --noflush` input flushes it, so every change rewrites all three
// from the current state: no rule is ever deleted one by one, and none can be left over.
//
//   TRELLIS_BED_IN      (from INPUT)
//     -i lo RETURN                       a pod's own loopback traffic is never faulted
//     -s <blocked> DROP|REJECT           cut / cutFrom
//     -s <except> RETURN ... DROP        isolate
//   TRELLIS_BED_OUT     (from OUTPUT)
//     -o lo RETURN
//     -d 127.0.0.0/8 RETURN              redirected to its own loopback (a sidecar's capture)
//     -j TRELLIS_BED_EGRESS              the egress guard first: nothing leaves the bed's addresses
//     -d <blocked> DROP|REJECT
//     -d <except> RETURN ... DROP
//   TRELLIS_BED_EGRESS
//     -d <allowed> RETURN ...            the bed's subnet, the VIP range, extra allowed CIDRs
//     -j REJECT icmp-net-unreachable     so a stray connect fails at once with ENETUNREACH
import { formatCidr, parseCidr } from "./addresses.js";

export const CHAIN_IN = "TRELLIS_BED_IN";
export const CHAIN_OUT = "TRELLIS_BED_OUT";
export const CHAIN_EGRESS = "TRELLIS_BED_EGRESS";

/** "drop": packets vanish, connects time out (a real partition). "reject": connects fail at once. */
export type FaultMode = "drop" | "reject";

export interface PodFaults {
  /** Addresses (or CIDRs) whose traffic with this pod is blocked, both ways, and how. */
  blocked: ReadonlyMap<string, FaultMode>;
  /** When set, all traffic but with these addresses (or CIDRs) is dropped, both ways. */
  isolatedExcept: readonly string[] | undefined;
}

export const NO_FAULTS: PodFaults = { blocked: new Map(), isolatedExcept: undefined };

/** Addresses in rules as iptables prints them back (`10.0.0.2/32`), so rule text is canonical. */
function cidr(text: string): string {
  return formatCidr(parseCidr(text, { loose: true }));
}

function target(mode: FaultMode, dir: "in" | "out"): string {
  if (mode === "drop") return "-j DROP";
  // Outbound: the local stack turns the ICMP error into ECONNREFUSED at once. Inbound: the sender gets it.
  return dir === "out" ? "-j REJECT --reject-with icmp-port-unreachable" : "-j REJECT";
}

export function renderRules(
  faults: PodFaults,
  egressAllowed: readonly string[],
  { install }: { install: boolean },
): string {
  const lines = [
    "*filter",
    `:${CHAIN_IN} - [0:0]`,
    `:${CHAIN_OUT} - [0:0]`,
    `:${CHAIN_EGRESS} - [0:0]`,
    `-A ${CHAIN_IN} -i lo -j RETURN`,
    `-A ${CHAIN_OUT} -o lo -j RETURN`,
    // A packet a nat REDIRECT sent to the pod's own loopback (transparent capture) still shows its first route's
    // interface here: it is loopback traffic all the same.
    `-A ${CHAIN_OUT} -d 127.0.0.0/8 -j RETURN`,
    `-A ${CHAIN_OUT} -j ${CHAIN_EGRESS}`,
  ];
  for (const [address, mode] of [...faults.blocked].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`-A ${CHAIN_IN} -s ${cidr(address)} ${target(mode, "in")}`);
    lines.push(`-A ${CHAIN_OUT} -d ${cidr(address)} ${target(mode, "out")}`);
  }
  if (faults.isolatedExcept) {
    for (const address of faults.isolatedExcept) {
      lines.push(`-A ${CHAIN_IN} -s ${cidr(address)} -j RETURN`);
      lines.push(`-A ${CHAIN_OUT} -d ${cidr(address)} -j RETURN`);
    }
    lines.push(`-A ${CHAIN_IN} -j DROP`, `-A ${CHAIN_OUT} -j DROP`);
  }
  for (const allowed of egressAllowed) lines.push(`-A ${CHAIN_EGRESS} -d ${cidr(allowed)} -j RETURN`);
  lines.push(`-A ${CHAIN_EGRESS} -j REJECT --reject-with icmp-net-unreachable`);
  if (install) lines.push(`-I INPUT 1 -j ${CHAIN_IN}`, `-I OUTPUT 1 -j ${CHAIN_OUT}`);
  lines.push("COMMIT", "");
  return lines.join("\n");
}
