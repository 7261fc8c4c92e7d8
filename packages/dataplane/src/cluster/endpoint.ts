// One upstream endpoint and everything that must survive a config swap: its connection pool, its in-flight
// count and its health. Endpoints are kept in a registry keyed by address and TLS settings, so a new config that
// still lists an endpoint reuses its warm connections and its ejection state.
import type { Dispatcher, Pool } from "undici";

export class EndpointState {
  /** Workload version behind the endpoint (telemetry, subsets). Updated in place by a new config. */
  version: string;
  /** Load-balancing weight. */
  weight: number;
  labels: Record<string, string>;
  /** Requests in flight (until response head). */
  active = 0;
  /** Active health check verdict. */
  healthy = true;
  /** Outlier detection state. */
  ejected = false;
  ejectedUntil = 0;
  ejections = 0;
  consecutive5xx = 0;
  consecutiveGateway = 0;
  private h2: Dispatcher | null = null;
  /** Made on first use by an HTTP/2 request (gRPC): a pool that negotiates h2. */
  h2Factory: (() => Dispatcher) | null = null;
  /** The pool for requests that arrived over HTTP/2. */
  h2Pool(): Dispatcher {
    if (this.h2 === null) this.h2 = this.h2Factory === null ? this.pool : this.h2Factory();
    return this.h2;
  }
  /** Closes both pools, letting requests in flight finish. */
  async close(): Promise<void> {
    const h2 = this.h2;
    await Promise.allSettled([this.pool.close(), h2 !== null && h2 !== this.pool ? h2.close() : null]);
  }
  /** Counters for /clusters. */
  requests = 0;
  failures = 0;

  constructor(
    readonly key: string,
    readonly address: string,
    readonly pool: Pool,
    version: string,
    weight: number,
    labels: Record<string, string>,
  ) {
    this.version = version;
    this.weight = weight;
    this.labels = labels;
  }

  /** May this endpoint take a request now? Re-admits an ejected endpoint once its time is up. */
  available(now: number): boolean {
    if (!this.healthy) return false;
    if (this.ejected) {
      if (now < this.ejectedUntil) return false;
      this.ejected = false;
    }
    return true;
  }
}
