// Every metric family the sidecar serves on /stats/prometheus: its name, type and HELP text. When to edit: before
// counting anything new. `Metrics.add`/`set` and `render` accept only the names listed here (a typo or a
// forgotten family does not compile), and render writes `# HELP` and `# TYPE` from this table, in this order.
// Checked by promtool in promtool.test.ts.

export type FamilyType = "counter" | "gauge" | "histogram";

/** What promlint asks of names: counters end in `_total`, and nothing else does. */
type Checked<T> = {
  [K in keyof T]: K extends `${string}_total`
    ? { type: "counter"; help: string }
    : { type: "gauge" | "histogram"; help: string };
};
const defineFamilies = <const T extends Record<string, { type: FamilyType; help: string }>>(
  f: T & Checked<T>,
): T => f;

export const FAMILIES = defineFamilies({
  // Rendered from RequestSeries (telemetry/metrics.ts), one series per label set.
  trellis_requests_total: {
    type: "counter",
    help: "Requests handled, by direction, source, destination, mTLS, protocol and response code (gRPC: the HTTP status paired with grpc-status; WebSocket: one per session; TCP: one per connection, code 0, or 403 when access policies refused it).",
  },
  // Milliseconds, not Prometheus' base unit: promtool's lint says "metric names should not contain abbreviated
  // units" about `_ms`, and promtool.test.ts accepts exactly that one line. The name stays (issue 14): queries
  // and alerts are written against it, and its bounds are in the same unit as the latency buckets the control
  // plane stores (LATENCY_BUCKETS_MS). A `_seconds` twin would double the histogram's series for every request.
  trellis_request_duration_ms: {
    type: "histogram",
    help: "Request duration until the response body ends, in milliseconds.",
  },

  // Connections, by listener: outbound, inbound, admin, tcp (a TCP service's local port).
  trellis_tcp_connections_total: {
    type: "counter",
    help: "Connections accepted, by listener.",
  },
  trellis_tcp_received_bytes_total: {
    type: "counter",
    help: "Bytes read from connections, by listener, counted when a connection closes.",
  },
  trellis_tcp_sent_bytes_total: {
    type: "counter",
    help: "Bytes written to connections, by listener, counted when a connection closes.",
  },
  trellis_tcp_active_connections: {
    type: "gauge",
    help: "Connections open now, on all listeners.",
  },
  trellis_bad_requests_total: {
    type: "counter",
    help: "Malformed HTTP/1.1 requests refused before routing (DP_BAD_REQUEST), on all listeners.",
  },
  trellis_dns_queries_total: {
    type: "counter",
    help: "DNS queries to the sidecar's resolver, by result: mesh (a service's VIP), nxdomain (no such service), forwarded, failed (no upstream answered), refused (malformed or unsupported).",
  },
  trellis_tracing_spans_exported_total: {
    type: "counter",
    help: "Spans of sampled traces the OTLP endpoint accepted.",
  },
  trellis_tracing_spans_dropped_total: {
    type: "counter",
    help: "Spans of sampled traces dropped, by reason: queue_full (the endpoint is slower than the traffic), export_failed (the endpoint refused or did not answer in time).",
  },
  trellis_tracing_app_exports_total: {
    type: "counter",
    help: "OTLP export requests of the local app relayed to the trace endpoint (POST /v1/traces on the admin listener), by outcome: relayed (the endpoint answered 2xx), refused (it answered otherwise, or the request was too large or the relay busy), failed (no answer).",
  },
  trellis_revoked_peer_refused_total: {
    type: "counter",
    help: "Inbound mTLS connections closed because the peer's certificate is revoked.",
  },

  // The config lifecycle.
  trellis_config_applied_total: {
    type: "counter",
    help: "Configs put in force, the initial one included.",
  },
  trellis_config_rejected_total: {
    type: "counter",
    help: "Configs rejected; the one in force keeps serving.",
  },
  trellis_config_info: {
    type: "gauge",
    help: "Always 1; the version label is the version of the config in force.",
  },
  trellis_process_resident_memory_bytes: {
    type: "gauge",
    help: "Resident set size of the proxy process, in bytes.",
  },

  // Per destination (destination_namespace, destination_service, destination_port), read from its Destination at
  // scrape time. A destination is rebuilt when a config is applied, so its counters start again from 0 then.
  trellis_upstream_active_requests: {
    type: "gauge",
    help: "Requests in flight to the destination.",
  },
  trellis_upstream_healthy_endpoints: {
    type: "gauge",
    help: "Endpoints of the destination that are healthy and not ejected.",
  },
  trellis_retries_total: {
    type: "counter",
    help: "Retries sent to the destination.",
  },
  trellis_retry_budget_exhausted_total: {
    type: "counter",
    help: "Retries not sent because the destination's retry budget was spent.",
  },
  trellis_circuit_breaker_open_total: {
    type: "counter",
    help: "Requests the destination's circuit breaker shed (503 DP_CIRCUIT_OPEN).",
  },
  trellis_outlier_ejections_total: {
    type: "counter",
    help: "Endpoints of the destination ejected by outlier detection.",
  },
  trellis_rate_limited_total: {
    type: "counter",
    help: "Requests refused by the destination's rate limit (429 DP_RATE_LIMITED).",
  },
});

export type FamilyName = keyof typeof FAMILIES;
/** Families rendered from request series (`Metrics.requestSeries`); nothing adds to them by name. */
export const REQUEST_FAMILIES = ["trellis_requests_total", "trellis_request_duration_ms"] as const;
export type RequestFamily = (typeof REQUEST_FAMILIES)[number];
type OfType<T extends FamilyType> = {
  [K in FamilyName]: (typeof FAMILIES)[K]["type"] extends T ? K : never;
}[FamilyName];
export type CounterFamily = Exclude<OfType<"counter">, RequestFamily>;
export type GaugeFamily = OfType<"gauge">;
/** Families with one plain number per label set: what `Metrics.add`/`set` and render's extra samples take. */
export type ScalarFamily = CounterFamily | GaugeFamily;
