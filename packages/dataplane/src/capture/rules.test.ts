// The capture rules as text, and the spec they come from. Whether the kernel does what they say is tested on
// real network namespaces (capture.test.ts); this holds what is installed to its contract.
import { describe, expect, it } from "vitest";
import { ZCaptureSpec } from "@trellis/contracts";
import { captureRules, removalCommands } from "./rules.js";

describe("capture rules", () => {
  it("redirects the app's outbound TCP and its inbound ports, and leaves loopback, the proxy and exclusions alone", () => {
    const spec = ZCaptureSpec.parse({
      outboundPort: 15001,
      inboundPort: 15006,
      inboundPorts: [9080, 9080, 9443],
      excludeOutboundPorts: [5432],
      excludeOutboundCidrs: ["10.96.0.0/12", "192.0.2.7"],
      controlPlanes: [
        { address: "10.213.0.1", port: 15010 },
        { address: "10.213.0.9", port: 15010 },
        { address: "10.213.0.1", port: 15010 },
      ],
    });
    expect(captureRules(spec)).toBe(
      [
        "*nat",
        ":TRELLIS_OUTPUT - [0:0]",
        ":TRELLIS_INBOUND - [0:0]",
        "-A TRELLIS_INBOUND -p tcp --dport 9080 -j REDIRECT --to-ports 15006",
        "-A TRELLIS_INBOUND -p tcp --dport 9443 -j REDIRECT --to-ports 15006",
        "-A TRELLIS_OUTPUT -o lo -j RETURN",
        "-A TRELLIS_OUTPUT -m owner --gid-owner 1337 -j RETURN",
        "-A TRELLIS_OUTPUT -d 10.213.0.1/32 -p tcp --dport 15010 -j RETURN",
        "-A TRELLIS_OUTPUT -d 10.213.0.9/32 -p tcp --dport 15010 -j RETURN",
        "-A TRELLIS_OUTPUT -d 10.96.0.0/12 -j RETURN",
        "-A TRELLIS_OUTPUT -d 192.0.2.7 -j RETURN",
        "-A TRELLIS_OUTPUT -p tcp --dport 5432 -j RETURN",
        "-A TRELLIS_OUTPUT -p tcp -j REDIRECT --to-ports 15001",
        "-A OUTPUT -p tcp -j TRELLIS_OUTPUT",
        "-A PREROUTING -p tcp -j TRELLIS_INBOUND",
        "COMMIT",
        "",
      ].join("\n"),
    );
  });

  it("removes the jumps before the chains", () => {
    const cmds = removalCommands().map((c) => c.join(" "));
    expect(cmds.slice(0, 2)).toEqual([
      "-t nat -D OUTPUT -p tcp -j TRELLIS_OUTPUT",
      "-t nat -D PREROUTING -p tcp -j TRELLIS_INBOUND",
    ]);
    expect(cmds.slice(2)).toEqual([
      "-t nat -F TRELLIS_OUTPUT",
      "-t nat -X TRELLIS_OUTPUT",
      "-t nat -F TRELLIS_INBOUND",
      "-t nat -X TRELLIS_INBOUND",
    ]);
  });

  it("refuses what would inject into the rules: only ports and IPv4 blocks get through", () => {
    const base = { outboundPort: 15001, inboundPort: 15006 };
    for (const bad of [
      { excludeOutboundCidrs: ["10.0.0.0/8 -j ACCEPT"] },
      { excludeOutboundCidrs: ["10.0.0.0/33"] },
      { excludeOutboundCidrs: ["256.1.1.1"] },
      { excludeOutboundCidrs: ["10.0.0.0/8\n-A OUTPUT -j DROP"] },
      { inboundPorts: [0] },
      { inboundPorts: [70_000] },
      { controlPlanes: [{ address: "cp.example", port: 15010 }] },
      { controlPlanes: [{ address: "10.0.0.1 -j ACCEPT", port: 15010 }] },
      { controlPlane: { address: "10.0.0.1", port: 15010 } },
      { proxyGid: 0 },
      { extra: true },
    ])
      expect(ZCaptureSpec.safeParse({ ...base, ...bad }).success, JSON.stringify(bad)).toBe(false);
    expect(ZCaptureSpec.parse(base).proxyGid).toBe(1337);
  });
});
