/**
 * Slows password guessing: after `maxFailures` failed sign-ins for one key (a user name, or a client address;
 * see password-sign-in.ts) within `windowMs`, further attempts for that key are refused until the window
 * passes. In memory, per console process: enough for one console; replicas each keep their own count.
 */
export class SignInLimiter {
  private readonly failures = new Map<string, number[]>();
  /** When a refusal of each key was last put in the audit log. */
  private readonly recorded = new Map<string, number>();
  constructor(
    private readonly maxFailures = 10,
    private readonly windowMs = 15 * 60_000,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 10_000,
  ) {}

  allow(key: string): boolean {
    return this.recent(key).length < this.maxFailures;
  }

  failed(key: string): void {
    const list = this.recent(key);
    list.push(this.now());
    this.failures.set(key, list);
    if (this.failures.size > this.maxKeys) {
      // Forget the oldest key rather than grow without bound under a spray of names.
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  /**
   * Whether a refused attempt for `key` should be audited: once per `recordEveryMs` per key, so a client
   * hammering a shut name cannot turn each of its cheap requests into a row of the audit log.
   */
  shouldRecordRefusal(key: string, recordEveryMs = 60_000): boolean {
    const now = this.now();
    const last = this.recorded.get(key);
    if (last !== undefined && now - last < recordEveryMs) return false;
    this.recorded.delete(key);
    this.recorded.set(key, now);
    if (this.recorded.size > this.maxKeys) {
      const oldest = this.recorded.keys().next().value;
      if (oldest !== undefined) this.recorded.delete(oldest);
    }
    return true;
  }

  succeeded(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const list = (this.failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.failures.delete(key);
    return list;
  }
}
