import { STREAM_ERRORS } from "@trellis/contracts";

// How often one stream may have its certificate renewed. Each renewal costs a CA signature and an
// IssuedCertificate row; a proxy renews at half-life (dataplane mesh/client.ts), so anything faster is a bug or
// an attack, and is refused with `RENEWAL_LIMITED_CODE` (the stream stays up; the proxy retries later).

/** Renewals a stream may make back to back (a proxy that lost a reply, a clock that jumped). */
export const RENEWAL_BURST = 3;
/** One renewal is earned back per this long, or per half the certificate's lifetime when that is shorter. */
export const RENEWAL_REFILL_MS = 60_000;
export const RENEWAL_LIMITED_CODE = STREAM_ERRORS.renewalLimited;

/**
 * A token bucket: `RENEWAL_BURST` renewals, then one per `min(RENEWAL_REFILL_MS, certTtlMs / 2)`. The real
 * proxy renews once per half-life at the most (at least 1 s apart), so it never meets the limit: its renewals
 * are more than half a lifetime apart, as they are more than `RENEWAL_REFILL_MS` apart for any lifetime over 2 min.
 */
export class RenewalLimit {
  private tokens = RENEWAL_BURST;
  private at = Date.now();
  private readonly refillMs: number;

  constructor(certTtlMs: number) {
    this.refillMs = Math.max(1, Math.min(RENEWAL_REFILL_MS, certTtlMs / 2));
  }

  /** Takes a renewal; returns 0 when allowed, else the milliseconds until the next one is. */
  take(now = Date.now()): number {
    this.tokens = Math.min(RENEWAL_BURST, this.tokens + (now - this.at) / this.refillMs);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - this.tokens) * this.refillMs);
  }
}
