import { describe, expect, it } from "vitest";
import { parseResource, validateResource } from "../../index.js";

const dp = (spec: unknown, name = "reviews") => ({
  apiVersion: "trellis.dev/v1alpha1",
  kind: "DestinationPolicy",
  metadata: { name, namespace: "shop" },
  spec,
});

describe("DestinationPolicy", () => {
  it("parses a full policy as written", () => {
    const spec = {
      service: "reviews",
      loadBalancer: { type: "ringHash", header: "x-user-id" },
      circuitBreaker: { maxConnections: 100, maxPendingRequests: 10, maxRequests: 200 },
      outlierDetection: {
        consecutive5xx: 3,
        consecutiveGatewayErrors: 2,
        interval: "10s",
        baseEjectionTime: "30s",
        maxEjectionPercent: 50,
      },
      rateLimit: { requestsPerUnit: 100, unit: "minute", burst: 10, perCaller: true },
      healthCheck: { path: "/healthz", interval: "5s", timeout: "1s" },
    };
    expect(parseResource(dp(spec))).toEqual({ ok: true, resource: dp(spec) });
  });

  it("reports schema problems by path", () => {
    const r = parseResource(
      dp({
        service: "reviews",
        loadBalancer: { type: "random" },
        rateLimit: { requestsPerUnit: 0, unit: "day" },
        healthCheck: { path: "healthz" },
      }),
    );
    expect(r.ok ? [] : r.issues.map((i) => i.path)).toEqual([
      "spec.loadBalancer.type",
      "spec.rateLimit.requestsPerUnit",
      "spec.rateLimit.unit",
      "spec.healthCheck.path",
    ]);
    const s = parseResource(dp({ service: "reviews", loadBalancer: { type: "ringHash" } }));
    expect(s.ok ? [] : s.issues.map((i) => i.path)).toEqual(["spec.loadBalancer.header"]);
  });

  it("refuses a second policy for a service and warns about useless settings", () => {
    const other = parseResource(dp({ service: "reviews" }, "older"));
    if (!other.ok) throw new Error("fixture");
    const v = validateResource(
      dp({
        service: "reviews",
        outlierDetection: { consecutive5xx: 0, consecutiveGatewayErrors: 0 },
        healthCheck: { interval: "1s", timeout: "1s" },
      }),
      { resources: [other.resource], services: [] },
    );
    expect(v.errors).toEqual([
      {
        path: "spec.service",
        at: { path: ["spec", "service"] },
        message: "DestinationPolicy older already applies to shop/reviews; one per service",
      },
    ]);
    expect(v.warnings.map((w) => w.path)).toEqual([
      "spec.healthCheck.timeout",
      "spec.outlierDetection",
      "spec.service",
    ]);
  });
});
