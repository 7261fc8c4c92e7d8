import { z } from "zod";

/**
 * Stable codes the sidecar puts in the `x-trellis-error` response header when it answers on its own behalf.
 * Clients and dashboards branch on these, so a code is never renamed or reused. Add new ones at the end.
 */
export const PROXY_ERROR_CODES = [
  "DP_BAD_REQUEST",
  "DP_NO_ROUTE",
  "DP_UNKNOWN_SERVICE",
  "DP_NO_HEALTHY_UPSTREAM",
  "DP_UPSTREAM_CONNECT_FAILURE",
  "DP_UPSTREAM_RESET",
  "DP_UPSTREAM_TIMEOUT",
  "DP_UPSTREAM_PROTOCOL",
  "DP_CIRCUIT_OPEN",
  "DP_RATE_LIMITED",
  "DP_FORBIDDEN",
  "DP_MTLS_REQUIRED",
  "DP_FAULT_ABORT",
  "DP_DRAINING",
  "DP_INTERNAL",
  /** A captured call to a destination outside the mesh's registry, refused by `outboundTrafficPolicy: registryOnly`. */
  "DP_UNKNOWN_DESTINATION",
] as const;
export const ZProxyErrorCode = z.enum(PROXY_ERROR_CODES);
export type ProxyErrorCode = z.infer<typeof ZProxyErrorCode>;

/** Status the proxy answers with for each code (a fault abort uses its configured status instead). */
export const PROXY_ERROR_HTTP_STATUS = {
  DP_BAD_REQUEST: 400,
  DP_NO_ROUTE: 404,
  DP_UNKNOWN_SERVICE: 404,
  DP_NO_HEALTHY_UPSTREAM: 503,
  DP_UPSTREAM_CONNECT_FAILURE: 503,
  DP_UPSTREAM_RESET: 502,
  DP_UPSTREAM_TIMEOUT: 504,
  DP_UPSTREAM_PROTOCOL: 502,
  DP_CIRCUIT_OPEN: 503,
  DP_RATE_LIMITED: 429,
  DP_FORBIDDEN: 403,
  DP_MTLS_REQUIRED: 403,
  DP_FAULT_ABORT: 503,
  DP_DRAINING: 503,
  DP_INTERNAL: 500,
  DP_UNKNOWN_DESTINATION: 502,
} as const satisfies Record<ProxyErrorCode, number>;
