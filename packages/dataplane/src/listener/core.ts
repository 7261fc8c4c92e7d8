// What listeners need from the running proxy. Kept to an interface so listeners do not depend on proxy.ts.
import type { Snapshot } from "../config/snapshot.js";
import type { Metrics, RequestSeries } from "../telemetry/metrics.js";
import type { SpanExporter } from "../telemetry/span-exporter.js";
import type { Sampler } from "../telemetry/trace.js";
import type { AccessLogSink } from "./edge.js";

export interface ProxyCore {
  /** The snapshot in force. Requests read it once when they arrive. */
  readonly snapshot: Snapshot;
  readonly metrics: Metrics;
  /** Set by close(): responses ask clients to close their connections. */
  readonly draining: boolean;
  /** Where access log lines go, or null when the access log is off. */
  readonly accessLog: AccessLogSink | null;
  /** Whether a trace that starts here is sampled (config `tracing.samplingPercent`; all, without tracing). */
  readonly sampler: Sampler;
  /** Where spans of sampled traces go, or null when the config has no `tracing`. */
  readonly spans: SpanExporter | null;
  /** Operational messages (the proxy's `log` option; stderr by default). */
  log(line: string): void;
  /** Series for requests over `protocol` (TRAFFIC_PROTOCOLS index) that matched no service. */
  unknownSeries(protocol: number): RequestSeries;
}
