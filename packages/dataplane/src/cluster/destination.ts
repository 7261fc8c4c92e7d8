// A destination service as the proxy sees it: its endpoints, version subsets with their balancers, and the
// policy that guards it (circuit breaker, outlier detection, retry budget). Built once per config.
import type { OutboundService } from "@trellis/contracts/proxy";
import { ProxyError, upstreamError } from "../core/errors.js";
import type { Handler, ProxyRequest, RequestContext, ProxyResponse } from "../core/types.js";
import type { Balancer } from "../balancer/types.js";
import { roundRobin } from "../balancer/round-robin.js";
import { leastRequest } from "../balancer/least-request.js";
import { ringHash } from "../balancer/ring-hash.js";
import { sendToEndpoint, type EndpointState } from "./endpoint.js";
import { CircuitBreakerGate } from "./circuit-breaker.js";
import { OutlierDetector } from "./outlier.js";
import { HealthChecker } from "./health-check.js";
import type { RetryBudgetState } from "../layers/retry.js";
import { RateLimiter } from "../layers/rate-limit.js";
import type { Metrics, PeerLabels, RequestSeries } from "../telemetry/metrics.js";
import { PROTOCOL_COUNT } from "../telemetry/protocol.js";

export class Destination implements RetryBudgetState {
  active = 0;
  retriesActive = 0;
  retriesTotal = 0;
  retriesOverflow = 0;
  readonly gate: CircuitBreakerGate | null;
  readonly outlier: OutlierDetector | null;
  readonly health: HealthChecker | null;
  readonly rateLimiter: RateLimiter | null;
  private readonly subsets = new Map<string, Handler>();
  /** By version, then by protocol index. */
  private readonly series = new Map<string, (RequestSeries | undefined)[]>();

  constructor(
    readonly service: OutboundService,
    readonly endpoints: readonly EndpointState[],
    private readonly metrics: Metrics,
    private readonly source: PeerLabels,
  ) {
    const p = service.policy;
    this.gate = p.circuitBreaker ? new CircuitBreakerGate(p.circuitBreaker) : null;
    this.outlier = p.outlierDetection ? new OutlierDetector(p.outlierDetection, endpoints) : null;
    this.health =
      p.healthCheck && endpoints.length > 0
        ? new HealthChecker(p.healthCheck, endpoints, service.name)
        : null;
    this.rateLimiter = p.rateLimit ? new RateLimiter(p.rateLimit) : null;
  }

  /** The handler that sends to one endpoint of `version` (undefined: any version). Cached per version. */
  subset(version: string | undefined): Handler {
    const key = version ?? "*";
    let h = this.subsets.get(key);
    if (h === undefined) {
      const eps =
        version === undefined ? this.endpoints : this.endpoints.filter((e) => e.version === version);
      h = this.endpointCall(this.balancer(eps));
      this.subsets.set(key, h);
    }
    return h;
  }

  private tcpBalancer: Balancer | null = null;
  /** Endpoint for a new TCP passthrough connection. */
  pickTcp(now: number): EndpointState | null {
    // Hashing needs request headers a TCP connection does not have.
    this.tcpBalancer ??=
      this.service.policy.loadBalancer.type === "ringHash"
        ? leastRequest(this.endpoints)
        : this.balancer(this.endpoints);
    return this.tcpBalancer.pick(null as unknown as ProxyRequest, now);
  }

  /** Telemetry series for requests over `protocol` that reached `version` ("unknown" when none was reached). */
  seriesFor(version: string, protocol: number): RequestSeries {
    let byProtocol = this.series.get(version);
    if (byProtocol === undefined) {
      byProtocol = new Array<RequestSeries | undefined>(PROTOCOL_COUNT);
      this.series.set(version, byProtocol);
    }
    let s = byProtocol[protocol];
    if (s === undefined) {
      s = this.metrics.requestSeries(
        "outbound",
        this.source,
        {
          namespace: this.service.namespace,
          service: this.service.name,
          version: version || "unknown",
        },
        this.service.mtls,
        protocol,
      );
      byProtocol[protocol] = s;
    }
    return s;
  }

  private balancer(eps: readonly EndpointState[]): Balancer {
    const lb = this.service.policy.loadBalancer;
    switch (lb.type) {
      case "roundRobin":
        return roundRobin(eps);
      case "leastRequest":
        return leastRequest(eps);
      case "ringHash":
        return ringHash(eps, lb.header);
    }
  }

  /** Innermost handler: gate, pick, send, and feed the outcome to outlier detection. */
  private endpointCall(balancer: Balancer): Handler {
    // A plain closure over the destination (not a method): the hot path calls it with no `this` binding.
    const dest: Destination = this as Destination;
    const gate = this.gate;
    const outlier = this.outlier;
    const name = this.service.name;
    return async function callEndpoint(req: ProxyRequest, ctx: RequestContext): Promise<ProxyResponse> {
      if (gate !== null && !gate.admit(dest.active))
        throw new ProxyError("DP_CIRCUIT_OPEN", `too many requests in flight to ${name}`);
      const now = performance.now();
      const ep = balancer.pick(req, now);
      if (ep === null) throw new ProxyError("DP_NO_HEALTHY_UPSTREAM", `no healthy endpoint for ${name}`);
      ctx.upstreamVersion = ep.version;
      ctx.upstreamAddress = ep.address;
      ctx.attempts++;
      let limit = ctx.deadline - now;
      if (ctx.perTryTimeoutMs > 0 && ctx.perTryTimeoutMs < limit) limit = ctx.perTryTimeoutMs;
      if (limit <= 0)
        throw new ProxyError("DP_UPSTREAM_TIMEOUT", `deadline for ${name} passed before the try`);
      ep.active++;
      ep.requests++;
      dest.active++;
      let res: ProxyResponse;
      try {
        res = await sendToEndpoint(
          ep,
          req,
          limit === Infinity ? 0 : Math.ceil(limit),
          ctx.streamIdleTimeoutMs,
        );
      } catch (err) {
        ep.active--;
        dest.active--;
        const e = upstreamError(err, ep.address);
        // A request body the client botched (http1-guard.ts cuts it) says nothing about the endpoint.
        if (e.code !== "DP_BAD_REQUEST") {
          ep.failures++;
          if (outlier !== null) outlier.onGatewayFailure(ep, performance.now());
        }
        throw e;
      }
      ep.active--;
      dest.active--;
      if (res.status >= 500) ep.failures++;
      if (outlier !== null) outlier.onResponse(ep, res.status, performance.now());
      return res;
    };
  }
}
