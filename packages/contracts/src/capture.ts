// Transparent capture: which of a pod's TCP connections its sidecar takes over, set up with iptables in the pod's
// network namespace (dataplane capture/). One schema for the CLI's flags, the pod bed and, later, an injector.
import { z } from "zod";
import { ZIpv4, ZIpv4Cidr } from "./net.js";

const ZCapturePort = z.number().int().min(1).max(65535);

/**
 * The group the sidecar runs as under capture: its own connections are never captured (iptables' owner match).
 * 1337 is the number Istio's and Kuma's sidecars use, so operators recognise it.
 */
export const DEFAULT_PROXY_GID = 1337;

export const ZCaptureSpec = z.strictObject({
  /** The sidecar's outbound listener (on 127.0.0.1): the app's outbound TCP is redirected here. */
  outboundPort: ZCapturePort,
  /** The sidecar's inbound listener: connections to `inboundPorts` are redirected here. */
  inboundPort: ZCapturePort,
  /** The group the sidecar's processes run as; their traffic passes uncaptured. */
  proxyGid: z.number().int().min(1).max(2_147_483_647).default(DEFAULT_PROXY_GID),
  /** App ports whose inbound connections go through the sidecar (plain-text callers from outside the mesh). */
  inboundPorts: z.array(ZCapturePort).max(64).default([]),
  /** Outbound destinations left alone: ports, and IPv4 addresses or blocks. */
  excludeOutboundPorts: z.array(ZCapturePort).max(64).default([]),
  excludeOutboundCidrs: z.array(ZIpv4Cidr).max(64).default([]),
  /**
   * The control-plane replicas, reached directly (the sidecar's own connections to them pass by its group
   * anyway; this also leaves the app's alone).
   */
  controlPlanes: z
    .array(z.strictObject({ address: ZIpv4, port: ZCapturePort }))
    .max(16)
    .default([]),
});
export type CaptureSpec = z.infer<typeof ZCaptureSpec>;
export type CaptureSpecInput = z.input<typeof ZCaptureSpec>;
