import { DEFAULT_IDLE_TIMEOUT_MS, durationMs, type DestinationPolicyResource } from "@trellis/contracts";
import type { DestinationPolicyInput, RateLimitInput } from "./proxy-types.js";
import { compileRateLimit } from "./rate-limit.js";
import { withoutUndefined } from "./util.js";

// DestinationPolicy → the caller-side policy of one outbound service, and the rate limit its own workloads
// enforce inbound. When to edit this file: when ZDestinationPolicySpec or the proxy's ZDestinationPolicy gains a
// field. Fields left out stay out: the proxy config's zod defaults (contracts' DESTINATION_POLICY_DEFAULTS)
// fill them in.

/** The caller-side policy; without a DestinationPolicy, round robin and nothing else. */
export function compileDestinationPolicy(p: DestinationPolicyResource | undefined): DestinationPolicyInput {
  if (p === undefined)
    return { loadBalancer: { type: "roundRobin" }, idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS };
  const s = p.spec;
  const cb = s.circuitBreaker;
  const od = s.outlierDetection;
  const hc = s.healthCheck;
  const lb = s.loadBalancer ?? { type: "roundRobin" as const };
  return withoutUndefined({
    loadBalancer:
      lb.type === "ringHash"
        ? { type: "ringHash" as const, header: lb.header.toLowerCase() }
        : { type: lb.type },
    circuitBreaker: cb
      ? withoutUndefined({
          maxConnections: cb.maxConnections,
          maxPending: cb.maxPendingRequests,
          maxRequests: cb.maxRequests,
        })
      : undefined,
    // `interval` has no counterpart in the proxy config: its outlier detector reacts to every response.
    outlierDetection: od
      ? withoutUndefined({
          consecutive5xx: od.consecutive5xx,
          consecutiveGatewayFailures: od.consecutiveGatewayErrors,
          baseEjectionMs: od.baseEjectionTime === undefined ? undefined : durationMs(od.baseEjectionTime),
          maxEjectionPercent: od.maxEjectionPercent,
        })
      : undefined,
    healthCheck: hc
      ? withoutUndefined({
          path: hc.path,
          intervalMs: hc.interval === undefined ? undefined : durationMs(hc.interval),
          timeoutMs: hc.timeout === undefined ? undefined : durationMs(hc.timeout),
          unhealthyThreshold: hc.unhealthyThreshold,
          healthyThreshold: hc.healthyThreshold,
        })
      : undefined,
    idleTimeoutMs: s.idleTimeout === undefined ? DEFAULT_IDLE_TIMEOUT_MS : durationMs(s.idleTimeout),
  });
}

/** The rate limit a service's own workloads enforce on the way in (per workload; per caller when asked). */
export function inboundRateLimit(p: DestinationPolicyResource | undefined): RateLimitInput | undefined {
  return p?.spec.rateLimit ? compileRateLimit(p.spec.rateLimit) : undefined;
}
