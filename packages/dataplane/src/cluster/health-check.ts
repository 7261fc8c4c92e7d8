// Active health checks: probe every endpoint on an interval through its own pool (so a probe crosses the same
// mTLS path real traffic does). Verdicts live on the endpoint and survive config swaps.
import type { HealthCheck } from "@trellis/contracts/proxy";
import type { EndpointState } from "./endpoint.js";

export class HealthChecker {
  private timer: NodeJS.Timeout | null = null;
  private readonly streaks = new Map<EndpointState, number>();
  constructor(
    private readonly conf: HealthCheck,
    private readonly endpoints: readonly EndpointState[],
    private readonly authority: string,
  ) {}

  start(): void {
    const tick = () => {
      for (const ep of this.endpoints) void this.probe(ep);
    };
    tick();
    this.timer = setInterval(tick, this.conf.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private async probe(ep: EndpointState): Promise<void> {
    let ok: boolean;
    try {
      const res = await ep.pool.request({
        method: "GET",
        path: this.conf.path,
        headers: { host: this.authority, "user-agent": "trellis-health-check" },
        signal: AbortSignal.timeout(this.conf.timeoutMs),
      });
      await res.body.dump();
      ok = res.statusCode >= 200 && res.statusCode < 300;
    } catch {
      ok = false; // the verdict is the outcome; the cause shows in /clusters as unhealthy
    }
    if (this.timer === null) return;
    // Positive streaks count successes, negative ones failures.
    const prev = this.streaks.get(ep) ?? 0;
    const streak = ok ? Math.max(prev, 0) + 1 : Math.min(prev, 0) - 1;
    this.streaks.set(ep, streak);
    if (ok && !ep.healthy && streak >= this.conf.healthyThreshold) ep.healthy = true;
    if (!ok && ep.healthy && -streak >= this.conf.unhealthyThreshold) ep.healthy = false;
  }
}
