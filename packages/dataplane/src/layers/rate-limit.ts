// Local rate limiting with token buckets, answering 429. One bucket per route/destination, or one per caller
// identity when `perCaller` is set (inbound). Buckets refill lazily from the clock: no timers.
import type { RateLimit } from "@trellis/contracts/proxy";
import { ProxyError } from "../core/errors.js";
import type { Layer } from "../core/types.js";

export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly ratePerMs: number,
    private readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }
  take(now: number): boolean {
    const t = Math.min(this.capacity, this.tokens + (now - this.last) * this.ratePerMs);
    this.last = now;
    if (t < 1) {
      this.tokens = t;
      return false;
    }
    this.tokens = t - 1;
    return true;
  }
}

/** Callers tracked at most; beyond it the table starts over (a flood of identities must not grow memory). */
const MAX_CALLERS = 10_000;

export class RateLimiter {
  rejected = 0;
  private readonly shared: TokenBucket | null;
  private readonly perCaller: Map<string, TokenBucket> | null;
  private readonly rate: number;
  private readonly burst: number;
  constructor(conf: RateLimit) {
    this.rate = conf.requestsPerSecond / 1000;
    this.burst = conf.burst ?? Math.max(1, Math.ceil(conf.requestsPerSecond));
    this.perCaller = conf.perCaller ? new Map() : null;
    this.shared = conf.perCaller ? null : new TokenBucket(this.rate, this.burst, performance.now());
  }
  admit(caller: string | null): boolean {
    const now = performance.now();
    let bucket = this.shared;
    if (bucket === null) {
      const key = caller ?? "";
      bucket = this.perCaller!.get(key) ?? null;
      if (bucket === null) {
        if (this.perCaller!.size >= MAX_CALLERS) this.perCaller!.clear();
        bucket = new TokenBucket(this.rate, this.burst, now);
        this.perCaller!.set(key, bucket);
      }
    }
    if (bucket.take(now)) return true;
    this.rejected++;
    return false;
  }
}

export function rateLimit(limiter: RateLimiter | null): Layer {
  if (limiter === null) return (next) => next;
  return (next) => (req, ctx) => {
    if (!limiter.admit(ctx.peerId))
      return Promise.reject(new ProxyError("DP_RATE_LIMITED", "local rate limit exceeded"));
    return next(req, ctx);
  };
}
