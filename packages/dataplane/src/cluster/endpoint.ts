// One upstream endpoint and everything that must survive a config swap: its connection pool, its in-flight
// count and its health. Endpoints are kept in a registry keyed by address and TLS settings, so a new config that
// still lists an endpoint reuses its warm connections and its ejection state.
import type { Pool } from "undici";
import { dispatchH2, type H2Pool } from "../upstream/h2.js";
import { dispatchUpstream } from "../upstream/dispatch.js";
import type { ProxyRequest, ProxyResponse } from "../core/types.js";

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
  private h2: H2Pool | null = null;
  /** Makes the HTTP/2 pool, on first use by a request that travels as h2. */
  h2Factory: (() => H2Pool) | null = null;
  /** Every request to this endpoint travels as h2 (an app that speaks h2c), whatever the client spoke. */
  onlyH2 = false;
  /** The HTTP/2 pool (sessions multiplexing streams), made on first use. */
  h2Pool(): H2Pool {
    if (this.h2 === null) {
      if (this.h2Factory === null) throw new Error(`endpoint ${this.address} has no HTTP/2 pool`);
      this.h2 = this.h2Factory();
    }
    return this.h2;
  }
  /** The HTTP/2 pool if one was made (for /clusters). */
  get h2IfOpen(): H2Pool | null {
    return this.h2;
  }
  /** Closes both pools, letting requests in flight finish. */
  async close(): Promise<void> {
    await Promise.allSettled([this.pool.close(), this.h2?.close()]);
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

/**
 * Sends one try to an endpoint in the protocol it takes: h2 when the endpoint only speaks it (an h2c app) or
 * when the request came as h2 and the endpoint can take h2 (another sidecar); HTTP/1.1 otherwise, and always
 * for an Upgrade (WebSocket), which HTTP/2 cannot carry.
 */
export function sendToEndpoint(
  ep: EndpointState,
  req: ProxyRequest,
  headersTimeoutMs: number,
  idleTimeoutMs: number,
): Promise<ProxyResponse> {
  if (req.upgrade === null && (ep.onlyH2 || (req.h2 && ep.h2Factory !== null)))
    return dispatchH2(ep.h2Pool(), req, headersTimeoutMs, idleTimeoutMs);
  return dispatchUpstream(ep.pool, ep.address, req, headersTimeoutMs, idleTimeoutMs);
}
