// The iptables rules of transparent capture, as text for `iptables-restore --noflush` (one atomic commit), and
// the commands that take them out again. Pure: what to install is decided here, how in install.ts.
//
// nat table, chains of our own (so removal never touches anyone else's rules):
//   OUTPUT     → TRELLIS_OUTPUT: the app's outbound TCP goes to the outbound listener, except what leaves by
//                loopback (the app's own ports, the sidecar's listeners), the sidecar's own connections (its
//                group), the control-plane replicas, and excluded ports and blocks.
//   PREROUTING → TRELLIS_INBOUND: connections to the app's ports go to the inbound listener. Mesh peers dial
//                the inbound listener itself, which is not among them.
// REDIRECT keeps the dialled address in conntrack; the listener reads it back (SO_ORIGINAL_DST).
import type { CaptureSpec } from "@trellis/contracts/proxy";

export const CAPTURE_CHAINS = { output: "TRELLIS_OUTPUT", inbound: "TRELLIS_INBOUND" } as const;

const JUMPS = [
  ["OUTPUT", CAPTURE_CHAINS.output],
  ["PREROUTING", CAPTURE_CHAINS.inbound],
] as const;

/** The `iptables-restore --noflush` input that installs capture for `spec`. */
export function captureRules(spec: CaptureSpec): string {
  const out = CAPTURE_CHAINS.output;
  const inb = CAPTURE_CHAINS.inbound;
  const lines = ["*nat", `:${out} - [0:0]`, `:${inb} - [0:0]`];
  for (const p of unique(spec.inboundPorts))
    lines.push(`-A ${inb} -p tcp --dport ${p} -j REDIRECT --to-ports ${spec.inboundPort}`);
  lines.push(`-A ${out} -o lo -j RETURN`);
  lines.push(`-A ${out} -m owner --gid-owner ${spec.proxyGid} -j RETURN`);
  for (const cp of unique(spec.controlPlanes.map((c) => `${c.address}/32 -p tcp --dport ${c.port}`)))
    lines.push(`-A ${out} -d ${cp} -j RETURN`);
  for (const c of unique(spec.excludeOutboundCidrs)) lines.push(`-A ${out} -d ${c} -j RETURN`);
  for (const p of unique(spec.excludeOutboundPorts)) lines.push(`-A ${out} -p tcp --dport ${p} -j RETURN`);
  lines.push(`-A ${out} -p tcp -j REDIRECT --to-ports ${spec.outboundPort}`);
  for (const [from, to] of JUMPS) lines.push(`-A ${from} -p tcp -j ${to}`);
  lines.push("COMMIT", "");
  return lines.join("\n");
}

/**
 * The iptables argument lists that remove capture, in order: the jumps first (so no packet meets a half-removed
 * chain), then each chain flushed and deleted. Each may fail harmlessly when that part is not installed.
 */
export function removalCommands(): string[][] {
  return [
    ...JUMPS.map(([from, to]) => ["-t", "nat", "-D", from, "-p", "tcp", "-j", to]),
    ...Object.values(CAPTURE_CHAINS).flatMap((c) => [
      ["-t", "nat", "-F", c],
      ["-t", "nat", "-X", c],
    ]),
  ];
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}
