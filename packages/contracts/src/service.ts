import { z } from "zod";
import { ZNamespace, ZServiceName, ZVersion } from "./names.js";
import { ZIpv4 } from "./net.js";

/** A service as the registry knows it: what proxies have registered under its name. */
export const ZServiceSummary = z.object({
  namespace: ZNamespace,
  name: ZServiceName,
  versions: z.array(ZVersion),
  workloads: z.number().int().nonnegative().describe("registered proxies"),
  healthyWorkloads: z.number().int().nonnegative().describe("proxies connected to the control plane now"),
  vip: ZIpv4.nullable().describe(
    "the service's virtual IP, allocated by the control plane and pushed to the sidecars that call the service (captured connections and DNS answers go by it); null until one is allocated",
  ),
  createdAt: z.iso.datetime(),
});
export type ServiceSummary = z.infer<typeof ZServiceSummary>;

export const ZServiceListInput = z.object({
  namespace: ZNamespace.optional().describe("only services in this namespace"),
});
export type ServiceListInput = z.infer<typeof ZServiceListInput>;

export const ZServiceList = z.object({ items: z.array(ZServiceSummary) });
export type ServiceList = z.infer<typeof ZServiceList>;
