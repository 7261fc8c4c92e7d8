// The default of every optional resource field that has one, defined once. The schemas' doc comments link
// here, the console's forms show these as placeholders, the control plane's compiler fills them in, and the
// proxy config's zod defaults use them, so what a user is told is what the proxies do.
// Durations are kept as users write them (`60s`), so a placeholder reads as the field is typed; `*_MS` are the
// same values for the compiler and the proxy config.
// When to edit this file: when a resource field gains a default, or a default changes (a behaviour change for
// every resource that leaves the field out: say so in the change).
import { durationMs } from "./common.js";

/** DestinationPolicy fields left out. */
export const DESTINATION_POLICY_DEFAULTS = {
  idleTimeout: "60s",
  circuitBreaker: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024 },
  outlierDetection: {
    consecutive5xx: 5,
    consecutiveGatewayErrors: 3,
    interval: "10s",
    baseEjectionTime: "30s",
    maxEjectionPercent: 50,
  },
  healthCheck: {
    path: "/healthz",
    interval: "5s",
    timeout: "1s",
    unhealthyThreshold: 2,
    healthyThreshold: 1,
  },
} as const;

/** MeshSettings fields left out (and the whole resource when there is none). The trust domain: DEFAULT_TRUST_DOMAIN. */
export const MESH_SETTINGS_DEFAULTS = {
  mtlsMode: "strict",
  outboundTrafficPolicy: "allowAny",
  accessLog: false,
  reportInterval: "10s",
  /** Route timeout when neither the rule nor MeshSettings says. */
  timeout: "15s",
  /** Percent of new traces sampled (Istio's default too): enough to find a slow call, cheap everywhere. */
  tracingSamplingPercent: 1,
} as const;

export const DEFAULT_IDLE_TIMEOUT_MS = durationMs(DESTINATION_POLICY_DEFAULTS.idleTimeout);
export const DEFAULT_BASE_EJECTION_MS = durationMs(
  DESTINATION_POLICY_DEFAULTS.outlierDetection.baseEjectionTime,
);
export const DEFAULT_HEALTH_CHECK_INTERVAL_MS = durationMs(DESTINATION_POLICY_DEFAULTS.healthCheck.interval);
export const DEFAULT_HEALTH_CHECK_TIMEOUT_MS = durationMs(DESTINATION_POLICY_DEFAULTS.healthCheck.timeout);
export const DEFAULT_REPORT_INTERVAL_MS = durationMs(MESH_SETTINGS_DEFAULTS.reportInterval);
export const DEFAULT_ROUTE_TIMEOUT_MS = durationMs(MESH_SETTINGS_DEFAULTS.timeout);
