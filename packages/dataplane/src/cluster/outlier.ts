// Passive outlier detection: endpoints that fail in a row are ejected for a while, longer each time, but never
// more than maxEjectionPercent of a destination at once (so a bad deploy cannot eject everything).
import type { OutlierDetection } from "@trellis/contracts/proxy";
import type { EndpointState } from "./endpoint.js";

export class OutlierDetector {
  ejectionsTotal = 0;
  constructor(
    private readonly conf: OutlierDetection,
    private readonly endpoints: readonly EndpointState[],
  ) {}

  /** A response head arrived. */
  onResponse(ep: EndpointState, status: number, now: number): void {
    ep.consecutiveGateway = 0;
    if (status >= 500) {
      ep.consecutive5xx++;
      if (this.conf.consecutive5xx > 0 && ep.consecutive5xx >= this.conf.consecutive5xx) this.eject(ep, now);
    } else {
      ep.consecutive5xx = 0;
    }
  }

  /** Connect failure, reset or timeout: no usable response. */
  onGatewayFailure(ep: EndpointState, now: number): void {
    ep.consecutiveGateway++;
    if (
      this.conf.consecutiveGatewayFailures > 0 &&
      ep.consecutiveGateway >= this.conf.consecutiveGatewayFailures
    )
      this.eject(ep, now);
  }

  private eject(ep: EndpointState, now: number): void {
    if (ep.ejected && now < ep.ejectedUntil) return;
    let ejected = 0;
    for (const e of this.endpoints) if (e.ejected && now < e.ejectedUntil) ejected++;
    if (((ejected + 1) * 100) / this.endpoints.length > this.conf.maxEjectionPercent) return;
    ep.ejections++;
    ep.ejected = true;
    ep.ejectedUntil = now + this.conf.baseEjectionMs * Math.min(ep.ejections, 10);
    ep.consecutive5xx = 0;
    ep.consecutiveGateway = 0;
    this.ejectionsTotal++;
  }
}
