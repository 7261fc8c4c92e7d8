import { z } from "zod";
import { ZServiceName } from "../../names.js";
import { ZHeaderName } from "../../http-fields.js";
import { RESOURCE_API_VERSION, ZObjectMeta, zDuration } from "../common.js";
import { ZRateLimitSpec } from "../rate-limit.js";

/**
 * DestinationPolicy: how one service is called and protected, whatever Route led there. Load balancing,
 * circuit breaking, outlier detection and health checks run in every calling proxy; the rate limit runs in
 * each of the service's own proxies (inbound), so it limits each workload.
 *
 * When to edit this file: when the data plane learns a destination feature. Add the field with a doc comment
 * saying it has a default and the value in `../defaults.ts` (DESTINATION_POLICY_DEFAULTS, which the console's
 * placeholders and the proxy config's defaults read), a check in `validate.ts` if needed, and its translation in
 * the control plane's compiler (`compiler/destination-policy.ts`).
 */

/** How a caller picks one of the service's workloads. */
export const ZLoadBalancerSpec = z.discriminatedUnion("type", [
  z.strictObject({
    /** Weighted round robin (the default). */
    type: z.literal("roundRobin"),
  }),
  z.strictObject({
    /** Of two workloads picked at random, the one with fewer requests in flight. Good for uneven request costs. */
    type: z.literal("leastRequest"),
  }),
  z.strictObject({
    /** Consistent hashing: requests with the same header value go to the same workload while it is up. */
    type: z.literal("ringHash"),
    /** Header whose value is hashed (`x-user-id`); requests without it are spread at random. */
    header: ZHeaderName,
  }),
]);
export type LoadBalancerSpec = z.infer<typeof ZLoadBalancerSpec>;

/**
 * Limits that shed load at once (503) instead of queueing it. Each calling proxy counts on its own. Defaults:
 * DESTINATION_POLICY_DEFAULTS.circuitBreaker.
 */
export const ZCircuitBreakerSpec = z.strictObject({
  /** Connections to the whole service. */
  maxConnections: z.number().int().positive("must be above 0").optional(),
  /** Requests waiting for a connection. */
  maxPendingRequests: z.number().int().min(0).optional(),
  /** Requests in flight to the service. */
  maxRequests: z.number().int().positive("must be above 0").optional(),
});
export type CircuitBreakerSpec = z.infer<typeof ZCircuitBreakerSpec>;

/**
 * Passive health: a workload that fails repeatedly is taken out of rotation for a while. Defaults:
 * DESTINATION_POLICY_DEFAULTS.outlierDetection.
 */
export const ZOutlierDetectionSpec = z.strictObject({
  /** Eject after this many 5xx responses in a row; 0 disables. */
  consecutive5xx: z.number().int().min(0).optional(),
  /** Eject after this many connect failures, resets or timeouts in a row; 0 disables. */
  consecutiveGatewayErrors: z.number().int().min(0).optional(),
  /**
   * How often ejections are reconsidered. The current data plane reconsiders on every response,
   * so this is accepted and kept but has no effect yet.
   */
  interval: zDuration({ min: 1 }).optional(),
  /** First ejection time; each further ejection of the same workload lasts longer. */
  baseEjectionTime: zDuration({ min: 1 }).optional(),
  /** At most this share of the service's workloads is ejected at once, 0–100. */
  maxEjectionPercent: z.number().min(0).max(100).optional(),
});
export type OutlierDetectionSpec = z.infer<typeof ZOutlierDetectionSpec>;

/**
 * Active health checks: every calling proxy probes every workload of the service with GET. Defaults:
 * DESTINATION_POLICY_DEFAULTS.healthCheck.
 */
export const ZHealthCheckSpec = z.strictObject({
  /** Path probed; any 2xx is healthy. */
  path: z.string().startsWith("/", "must start with /").optional(),
  /** Time between probes, at least 50ms. */
  interval: zDuration({ min: 50 }).optional(),
  /** Time limit of a probe, at least 10ms. */
  timeout: zDuration({ min: 10 }).optional(),
  /** Failed probes in a row before a workload is taken out. */
  unhealthyThreshold: z.number().int().min(1).optional(),
  /** Good probes in a row before it is back. */
  healthyThreshold: z.number().int().min(1).optional(),
});
export type HealthCheckSpec = z.infer<typeof ZHealthCheckSpec>;

export const ZDestinationPolicySpec = z.strictObject({
  /** The service this policy protects, in the policy's namespace. */
  service: ZServiceName,
  /** Workload choice. Default round robin. */
  loadBalancer: ZLoadBalancerSpec.optional(),
  /** Connection and request limits. Default: none beyond the proxy's own (1024 each). */
  circuitBreaker: ZCircuitBreakerSpec.optional(),
  /** Passive ejection of failing workloads. Default: off. */
  outlierDetection: ZOutlierDetectionSpec.optional(),
  /**
   * Rate limit of requests to the service, enforced by each of its workloads on the way in: a service with three
   * workloads accepts up to three times this rate. `perCaller` gives each calling service its own bucket.
   */
  rateLimit: ZRateLimitSpec.optional(),
  /** Active health checks. Default: off (passive outlier detection and the registry's view only). */
  healthCheck: ZHealthCheckSpec.optional(),
  /** Idle time before a pooled connection to a workload is closed. Default: DESTINATION_POLICY_DEFAULTS.idleTimeout. */
  idleTimeout: zDuration({ min: 1 }).optional(),
});
export type DestinationPolicySpec = z.infer<typeof ZDestinationPolicySpec>;

export const ZDestinationPolicyResource = z.strictObject({
  /** Always `trellis.dev/v1alpha1`. */
  apiVersion: z.literal(RESOURCE_API_VERSION),
  /** Always `DestinationPolicy`. */
  kind: z.literal("DestinationPolicy"),
  /** Name and namespace. */
  metadata: ZObjectMeta,
  /** What the policy does. */
  spec: ZDestinationPolicySpec,
});
export type DestinationPolicyResource = z.infer<typeof ZDestinationPolicyResource>;
