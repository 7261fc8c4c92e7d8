import { z } from "zod";

/** Units a rate is given in. */
export const RATE_UNIT_SECONDS = { second: 1, minute: 60, hour: 3_600 } as const;

/**
 * A local token-bucket rate limit. Excess requests are answered 429. The bucket lives in a proxy, so the
 * limit holds per proxy that enforces it (see where each kind applies it), not across the whole mesh.
 */
export const ZRateLimitSpec = z.strictObject({
  /** Sustained rate: this many requests per `unit`. */
  requestsPerUnit: z.number().positive("must be above 0").max(1_000_000_000),
  /** The unit of `requestsPerUnit`. */
  unit: z.enum(["second", "minute", "hour"]),
  /** Bucket size: how many requests may arrive at once. Default: one second's worth, at least 1. */
  burst: z.number().int().positive("must be above 0").max(1_000_000_000).optional(),
  /** One bucket per calling service identity instead of one shared bucket. Default false. */
  perCaller: z.boolean().optional(),
});
export type RateLimitSpec = z.infer<typeof ZRateLimitSpec>;

/** The sustained rate in requests per second. */
export function requestsPerSecond(r: RateLimitSpec): number {
  return r.requestsPerUnit / RATE_UNIT_SECONDS[r.unit];
}

/** The bucket size: as given, else one second's worth (at least 1). */
export function burstOf(r: RateLimitSpec): number {
  return r.burst ?? Math.max(1, Math.ceil(requestsPerSecond(r)));
}
