import { describe, expect, it } from "vitest";
import { LATENCY_BUCKETS_MS } from "@trellis/contracts";
import { Metrics } from "./metrics.js";

const web = { namespace: "shop", service: "web", version: "v1" };
const reviews = { namespace: "shop", service: "reviews", version: "v2" };

describe("telemetry deltas for the control plane", () => {
  it("reports each request once, in the control plane's bucket layout, with the overflow slot for slow ones", () => {
    const m = new Metrics();
    const s = m.requestSeries("outbound", web, reviews, true);
    for (const ms of [0.3, 0.9, 3, 40, 9_000, 70_000]) s.record(200, ms);
    s.record(503, 12);

    const first = m.drainTelemetry();
    expect(first).toHaveLength(2);
    const ok = first.find((x) => x.code === 200)!;
    expect(ok).toMatchObject({
      source: web,
      destination: reviews,
      reporter: "outbound",
      requests: 6,
      mtlsRequests: 6,
    });
    expect(ok.buckets).toHaveLength(LATENCY_BUCKETS_MS.length + 1);
    const at = (bound: number) => ok.buckets[LATENCY_BUCKETS_MS.indexOf(bound as never)];
    expect([at(1), at(5), at(50), at(10_000)]).toEqual([2, 1, 1, 1]);
    expect(ok.buckets.at(-1)).toBe(1); // 70 s: slower than the last bound
    expect(ok.durationSumMs).toBeCloseTo(79_044.2);

    // Nothing new: nothing to report. Then only what is new.
    expect(m.drainTelemetry()).toEqual([]);
    s.record(200, 3);
    const second = m.drainTelemetry();
    expect(second).toHaveLength(1);
    expect(second[0]).toMatchObject({ code: 200, requests: 1, durationSumMs: 3 });
    expect(second[0]!.buckets.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it("counts plaintext series as not mTLS", () => {
    const m = new Metrics();
    m.requestSeries("inbound", web, reviews, false).record(200, 1);
    expect(m.drainTelemetry()[0]).toMatchObject({ reporter: "inbound", requests: 1, mtlsRequests: 0 });
  });
});
