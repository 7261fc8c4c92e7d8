import { z } from "zod";
import { ZNamespace, ZServiceName, ZVersion } from "./names.js";

/** A service as the registry knows it: what proxies have registered under its name. */
export const ZServiceSummary = z.object({
  namespace: ZNamespace,
  name: ZServiceName,
  versions: z.array(ZVersion),
  workloads: z.number().int().nonnegative().describe("registered proxies"),
  healthyWorkloads: z.number().int().nonnegative().describe("proxies connected to the control plane now"),
  createdAt: z.iso.datetime(),
});
export type ServiceSummary = z.infer<typeof ZServiceSummary>;

export const ZServiceListInput = z.object({
  namespace: ZNamespace.optional().describe("only services in this namespace"),
});
export type ServiceListInput = z.infer<typeof ZServiceListInput>;

export const ZServiceList = z.object({ items: z.array(ZServiceSummary) });
export type ServiceList = z.infer<typeof ZServiceList>;
