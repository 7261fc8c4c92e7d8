// Circuit breaking in Envoy's sense: hard limits that shed load at once instead of letting queues grow. The
// gate is a comparison on counters the destination keeps anyway; requests only read it.
import type { CircuitBreaker } from "@trellis/contracts/proxy";

export class CircuitBreakerGate {
  /** Requests allowed in flight: the tighter of maxRequests and connections + pending queue. */
  private readonly limit: number;
  opened = 0;
  constructor(conf: CircuitBreaker) {
    this.limit = Math.min(conf.maxRequests, conf.maxConnections + conf.maxPending);
  }
  admit(active: number): boolean {
    if (active < this.limit) return true;
    this.opened++;
    return false;
  }
}
