import { describe, expect, it } from "vitest";
import {
  DESTINATION_POLICY_DEFAULTS as D,
  durationMs,
  MESH_SETTINGS_DEFAULTS,
  ZCircuitBreaker,
  ZDestinationPolicy,
  ZHealthCheck,
  ZOutlierDetection,
  ZRoute,
  ZDestinationPolicySpec,
  ZMeshSettingsSpec,
} from "../index.js";

describe("resource defaults", () => {
  it("are what a proxy does when the compiled config leaves the field out", () => {
    expect(ZCircuitBreaker.parse({})).toEqual({
      maxConnections: D.circuitBreaker.maxConnections,
      maxPending: D.circuitBreaker.maxPendingRequests,
      maxRequests: D.circuitBreaker.maxRequests,
    });
    expect(ZOutlierDetection.parse({})).toEqual({
      consecutive5xx: D.outlierDetection.consecutive5xx,
      consecutiveGatewayFailures: D.outlierDetection.consecutiveGatewayErrors,
      baseEjectionMs: durationMs(D.outlierDetection.baseEjectionTime),
      maxEjectionPercent: D.outlierDetection.maxEjectionPercent,
    });
    expect(ZHealthCheck.parse({})).toEqual({
      path: D.healthCheck.path,
      intervalMs: durationMs(D.healthCheck.interval),
      timeoutMs: durationMs(D.healthCheck.timeout),
      unhealthyThreshold: D.healthCheck.unhealthyThreshold,
      healthyThreshold: D.healthCheck.healthyThreshold,
    });
    expect(ZDestinationPolicy.parse({}).idleTimeoutMs).toBe(durationMs(D.idleTimeout));
    expect(ZRoute.shape.timeoutMs.parse(undefined)).toBe(durationMs(MESH_SETTINGS_DEFAULTS.timeout));
  });

  it("are values a user could have written", () => {
    const hc = D.healthCheck;
    const od = D.outlierDetection;
    expect(
      ZDestinationPolicySpec.safeParse({
        service: "svc",
        idleTimeout: D.idleTimeout,
        circuitBreaker: D.circuitBreaker,
        outlierDetection: od,
        healthCheck: hc,
      }).success,
    ).toBe(true);
    const { mtlsMode, accessLog, reportInterval, timeout } = MESH_SETTINGS_DEFAULTS;
    expect(
      ZMeshSettingsSpec.safeParse({
        mtls: { mode: mtlsMode },
        telemetry: { accessLog, reportInterval },
        defaults: { timeout },
      }).success,
    ).toBe(true);
  });
});
