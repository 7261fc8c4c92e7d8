import { z } from "zod";
import { ZNamespace, ZServiceName, ZVersion } from "./names.js";

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
  connectedAt: z.iso.datetime(),
  lastSeenAt: z.iso.datetime(),
  certificateExpires: z.iso.datetime().nullable(),
});
export type ProxySummary = z.infer<typeof ZProxySummary>;

export const ZProxyListInput = z.object({
  namespace: ZNamespace.optional().describe("only proxies in this namespace"),
  service: ZServiceName.optional().describe("only proxies of this service"),
});
export type ProxyListInput = z.infer<typeof ZProxyListInput>;

export const ZProxyList = z.object({ items: z.array(ZProxySummary) });
export type ProxyList = z.infer<typeof ZProxyList>;
