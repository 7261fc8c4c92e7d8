// The demo's fault switch on real apps over real sockets, straight to the workload (no mesh): a 50 % fault
// fails about half the requests, latency delays every answer, clearing restores every answer, and a gRPC call
// to a failing ratings ends with UNAVAILABLE (trailers-only), not an HTTP error.
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callerVia, detailsApp, ratingsApp, type App } from "./apps.js";
import { DemoFaults, faultCommandsFrom, FaultSwitch } from "./faults.js";
import { GET_RATING_PATH, GRPC_UNAVAILABLE, encodeGetRatingRequest, grpcVia } from "./grpc.js";

const faults = new DemoFaults("demo");
let details: App;
let ratings: App;

beforeAll(async () => {
  details = await detailsApp({ fault: faults.switchOf("details", "v1") });
  ratings = await ratingsApp({ fault: faults.switchOf("ratings", "v1") });
});
afterAll(async () => {
  await details?.close();
  await ratings?.close();
});

/** `n` GETs of `/details/0`, 20 at a time: their statuses and how long the slowest took. */
async function getDetails(n: number): Promise<{ statuses: number[]; bodies: string[]; ms: number[] }> {
  const { call, close } = callerVia({ via: "sidecar", outboundPort: () => details.port }, 10_000);
  const out = { statuses: [] as number[], bodies: [] as string[], ms: [] as number[] };
  try {
    for (let i = 0; i < n; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, n - i) }, async () => {
          const t0 = performance.now();
          const r = await call("details", "/details/0");
          return { ...r, ms: performance.now() - t0 };
        }),
      );
      for (const r of batch) {
        out.statuses.push(r.status);
        out.bodies.push(r.body);
        out.ms.push(r.ms);
      }
    }
  } finally {
    close();
  }
  return out;
}

const count = (xs: number[], x: number) => xs.filter((v) => v === x).length;

describe("the demo's fault switch", () => {
  it("answers about half of 200 requests with 500 at 50 %, and every one again once cleared", async () => {
    faults.apply({ namespace: "demo", service: "details", version: "v1", percent: 50, latencyMs: 0 });
    const failing = await getDetails(200);
    expect(count(failing.statuses, 200) + count(failing.statuses, 500)).toBe(200);
    // Binomial(200, 0.5): sd ≈ 7; 70–130 is ±4.2 sd, so this fails by chance about once in 40,000 runs.
    expect(count(failing.statuses, 500)).toBeGreaterThanOrEqual(70);
    expect(count(failing.statuses, 500)).toBeLessThanOrEqual(130);
    expect(failing.bodies.find((_, i) => failing.statuses[i] === 500)).toContain("demo fault");

    faults.apply({ clear: { service: "details", version: "v1" } });
    expect(faults.list()).toEqual([]);
    const cleared = await getDetails(200);
    expect(count(cleared.statuses, 200)).toBe(200);
  });

  it("adds the latency to every answer, failed or not, and leaves /health alone", async () => {
    faults.apply({ namespace: "demo", service: "details", version: "v1", percent: 0, latencyMs: 300 });
    expect(faults.list()).toEqual([
      { namespace: "demo", service: "details", version: "v1", percent: 0, latencyMs: 300 },
    ]);
    const slow = await getDetails(20);
    expect(count(slow.statuses, 200)).toBe(20);
    expect(Math.min(...slow.ms)).toBeGreaterThanOrEqual(295);
    const health = await fetch(`http://127.0.0.1:${details.port}/health`);
    expect(health.status).toBe(200);

    faults.apply({ clear: { service: "details", version: "v1" } });
    const fast = await getDetails(20);
    expect(Math.min(...fast.ms)).toBeLessThan(295);
  });

  it("ends a gRPC call to a failing ratings with UNAVAILABLE, and HTTP/1.1-over-h2 callers with 500", async () => {
    faults.apply({ namespace: "demo", service: "ratings", version: "v1", percent: 100, latencyMs: 0 });
    const grpc = grpcVia({ via: "sidecar", outboundPort: () => ratings.port });
    try {
      const r = await grpc.call("ratings", GET_RATING_PATH, encodeGetRatingRequest(0));
      expect(r).toEqual({ status: GRPC_UNAVAILABLE, message: expect.stringContaining("demo fault") });
      const h = await import("node:http2");
      const session = h.connect(`http://127.0.0.1:${ratings.port}`);
      const status = await new Promise<number>((resolve, reject) => {
        const req = session.request({ ":path": "/ratings/0" });
        req.on("response", (hd) => resolve(Number(hd[":status"])));
        req.on("error", reject);
        req.resume();
        req.end();
      });
      session.close();
      expect(status).toBe(500);

      faults.apply({ clear: { service: "ratings", version: "v1" } });
      const ok = await grpc.call("ratings", GET_RATING_PATH, encodeGetRatingRequest(0));
      expect(ok.status).toBe(0);
    } finally {
      grpc.close();
    }
  });

  it("refuses a workload the demo does not run here", () => {
    expect(() =>
      faults.apply({ namespace: "demo", service: "reviews", version: "v9", percent: 10, latencyMs: 0 }),
    ).toThrow("the demo runs no reviews v9 in demo");
  });

  it("takes an app's fault from JSON lines on a stream (a pod's app, from the process that started it)", async () => {
    const sw = new FaultSwitch();
    const input = new PassThrough();
    const reports: string[] = [];
    faultCommandsFrom(input, sw, (l) => reports.push(l));
    input.write('{"percent":25,"latencyMs":100}\n{"percent":');
    await new Promise((r) => setImmediate(r));
    expect(sw.state).toEqual({ percent: 25, latencyMs: 100 });
    input.write('250,"latencyMs":0}\nnull\n');
    await new Promise((r) => setImmediate(r));
    expect(sw.state).toBeNull();
    expect(reports).toEqual([
      'fault set: {"percent":25,"latencyMs":100}',
      "ignored a fault command: expected {percent, latencyMs} or null",
      "fault cleared",
    ]);
  });
});
