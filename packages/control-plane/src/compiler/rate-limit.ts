import { burstOf, requestsPerSecond, type RateLimitSpec } from "@trellis/contracts";
import type { RateLimitInput } from "./proxy-types.js";

/** A resource's rate limit (per second, minute or hour) as the proxy's token bucket (per second). */
export function compileRateLimit(r: RateLimitSpec): RateLimitInput {
  return { requestsPerSecond: requestsPerSecond(r), burst: burstOf(r), perCaller: r.perCaller ?? false };
}
