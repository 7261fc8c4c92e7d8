import type { EndpointState } from "../cluster/endpoint.js";
import type { ProxyRequest } from "../core/types.js";

/** Picks an endpoint among those available, or null when none is. Built once per subset and config. */
export interface Balancer {
  pick(req: ProxyRequest, now: number): EndpointState | null;
}
