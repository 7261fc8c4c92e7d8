import { z } from "zod";
import { ZNamespace, ZServiceName, ZVersion } from "./names.js";

/**
 * Whether a proxy runs the config the control plane has for it, judged by the newest config generation it was
 * part of (the rollout rows the control plane writes) and the proxy's own answers:
 * - `in_sync`: it applied that generation's version (or, having joined since, the config it got on connect);
 * - `pending`: no answer yet;
 * - `nacked`: it refused the version and keeps serving its last good config (see `reason`).
 */
export const PROXY_SYNC_STATES = ["in_sync", "pending", "nacked"] as const;
export const ZProxySyncState = z.enum(PROXY_SYNC_STATES);
export type ProxySyncState = z.infer<typeof ZProxySyncState>;

export const ZProxySync = z.object({
  state: ZProxySyncState,
  generation: z
    .number()
    .int()
    .nullable()
    .describe("newest config generation this proxy was part of; null: none since it joined"),
  targetVersion: z.string().nullable().describe("the config version that generation has for this proxy"),
  reason: z.string().nullable().describe("why the proxy refused the config (nacked), in full"),
});
export type ProxySync = z.infer<typeof ZProxySync>;

/** A registered proxy (one workload instance) and how its config rollout stands. */
export const ZProxySummary = z.object({
  id: z.string(),
  namespace: ZNamespace,
  service: ZServiceName,
  version: ZVersion,
  address: z.string().describe("host:port of its inbound mTLS listener"),
  identity: z.string().describe("SPIFFE ID"),
  status: z.enum(["connected", "disconnected"]),
  proxyVersion: z.string().nullable(),
  ackedVersion: z.string().nullable().describe("config version it last applied"),
  nackedVersion: z.string().nullable().describe("config version it last refused"),
  nackReason: z.string().nullable(),
  sync: ZProxySync,
  connectedAt: z.iso.datetime(),
  lastSeenAt: z.iso.datetime(),
  certificateExpires: z.iso.datetime().nullable(),
});
export type ProxySummary = z.infer<typeof ZProxySummary>;

export const ZProxyListInput = z.object({
  namespace: ZNamespace.optional().describe("only proxies in this namespace"),
  service: ZServiceName.optional().describe("only proxies of this service"),
  sync: ZProxySyncState.optional().describe("only proxies in this sync state"),
});
export type ProxyListInput = z.infer<typeof ZProxyListInput>;

export const ZProxyList = z.object({
  generation: z.number().int().nullable().describe("the mesh's newest config generation; null: none yet"),
  items: z.array(ZProxySummary),
});
export type ProxyList = z.infer<typeof ZProxyList>;
