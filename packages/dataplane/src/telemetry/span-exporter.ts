// Spans leave the proxy here: a bounded queue, batches POSTed to an OTLP/HTTP endpoint (protobuf), one export
// at a time. A request only ever pays for `record` (an array push, or a counter when the queue is full):
// when the endpoint is slow or gone, spans are dropped and counted, never waited for, and the queue never
// holds more than `maxQueuedSpans`. A failed batch is dropped, not retried: retrying would only let the queue
// grow behind an endpoint that is already not keeping up (the OpenTelemetry SDK's BatchSpanProcessor drops too).
import http from "node:http";
import https from "node:https";
import type { TlsMaterial, Tracing } from "@trellis/contracts/proxy";
import { MESH_SPAN_ORIGIN_HEADER } from "@trellis/contracts/proxy";
import { labelPairs, type Metrics } from "./metrics.js";
import { encodeExportTraceRequest, type Attributes, type SpanRecord } from "@trellis/contracts/otlp";

const DROPPED_QUEUE_FULL = labelPairs({ reason: "queue_full" });
const DROPPED_EXPORT_FAILED = labelPairs({ reason: "export_failed" });
const APP_RELAYED = labelPairs({ outcome: "relayed" });
const APP_REFUSED = labelPairs({ outcome: "refused" });
const APP_FAILED = labelPairs({ outcome: "failed" });
/** Relays of the app's exports in flight at once; one more is answered 503 (the SDK drops or retries it). */
const MAX_APP_RELAYS = 2;

/** What the app's exporter is answered: the endpoint's own answer when there was one. */
export interface RelayAnswer {
  status: number;
  contentType: string;
  body: Buffer;
}

/** The proxy as an OpenTelemetry instrumentation scope. */
const SCOPE = { name: "trellis-proxy", version: "0.1.0" };

/** Where batches go: the URL, and with `tls` the workload's certificate and the mesh CA (the control plane). */
export interface SpanSink {
  endpoint: string;
  tls?: TlsMaterial;
}

export class SpanExporter {
  private queue: SpanRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private closed = false;
  private settings: Tracing;
  /** The endpoint's first failure since the last success is logged; the rest are counted only. */
  private failing = false;
  private relays = 0;

  private sink: SpanSink;
  /** Keeps connections to the sink open between batches (a TLS handshake per batch would cost more than it). */
  private agent: http.Agent;

  constructor(
    settings: Tracing,
    sink: SpanSink,
    /** The workload, as resource attributes (`service.name`, `service.namespace`, …). */
    private resource: Attributes,
    private readonly metrics: Metrics,
    private readonly log: (line: string) => void,
  ) {
    this.settings = settings;
    this.sink = sink;
    this.agent = agentFor(sink);
    // Every series exists from the start (at 0), so a rate() over them works before the first drop.
    metrics.add("trellis_tracing_spans_exported_total", "", 0);
    metrics.add("trellis_tracing_spans_dropped_total", DROPPED_QUEUE_FULL, 0);
    metrics.add("trellis_tracing_spans_dropped_total", DROPPED_EXPORT_FAILED, 0);
    for (const outcome of [APP_RELAYED, APP_REFUSED, APP_FAILED])
      metrics.add("trellis_tracing_app_exports_total", outcome, 0);
  }

  /** A new config's settings; spans already queued go to the new sink. */
  update(settings: Tracing, sink: SpanSink, resource: Attributes): void {
    this.settings = settings;
    this.resource = resource;
    if (sink.endpoint !== this.sink.endpoint || sink.tls?.certPem !== this.sink.tls?.certPem) {
      // A renewed certificate or another replica: new connections (the old agent's idle ones are closed).
      this.agent.destroy();
      this.agent = agentFor(sink);
    }
    this.sink = sink;
  }

  /** Queues one finished span, or drops it (counted) when the queue is full. Never blocks, never throws. */
  record(span: SpanRecord): void {
    if (this.closed || this.queue.length >= this.settings.maxQueuedSpans) {
      this.metrics.add("trellis_tracing_spans_dropped_total", DROPPED_QUEUE_FULL);
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= this.settings.maxBatchSpans) this.kick();
    else if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.kick();
      }, this.settings.flushIntervalMs);
      this.timer.unref();
    }
  }

  /**
   * Hands an OTLP request of the local app (its SDK pointed at the admin listener's `/v1/traces`) on to the
   * sink as it came, marked as the app's: its spans join the sidecar's in one trace, and in the mesh the
   * control plane stores them as this workload's (the app needs no certificate of its own).
   */
  async relay(body: Buffer, contentType: string, contentEncoding: string | undefined): Promise<RelayAnswer> {
    if (this.closed || this.relays >= MAX_APP_RELAYS) {
      this.metrics.add("trellis_tracing_app_exports_total", APP_REFUSED);
      return { status: 503, contentType: "text/plain", body: Buffer.from("the sidecar's relay is busy\n") };
    }
    this.relays++;
    try {
      const answer = await relayOtlp(this.sink, this.agent, body, this.settings.exportTimeoutMs, {
        "content-type": contentType,
        ...(contentEncoding ? { "content-encoding": contentEncoding } : {}),
        ...(this.sink.tls ? { [MESH_SPAN_ORIGIN_HEADER]: "app" } : {}),
      });
      const ok = answer.status >= 200 && answer.status < 300;
      this.metrics.add("trellis_tracing_app_exports_total", ok ? APP_RELAYED : APP_REFUSED);
      return answer;
    } catch (e) {
      this.metrics.add("trellis_tracing_app_exports_total", APP_FAILED);
      return { status: 502, contentType: "text/plain", body: Buffer.from(`${(e as Error).message}\n`) };
    } finally {
      this.relays--;
    }
  }

  /** Spans waiting to be sent (for tests and /stats). */
  get queued(): number {
    return this.queue.length;
  }

  /** Sends what is queued, batch by batch, and resolves when done (or when the export in flight fails). */
  async flush(): Promise<void> {
    for (;;) {
      if (this.inFlight !== null) await this.inFlight;
      else if (this.queue.length > 0) this.kick();
      else return;
    }
  }

  /** Flushes for at most `ms`, then stops: later spans are dropped. */
  async close(ms = 2_000): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.flush(),
      new Promise<void>((r) => {
        timer = setTimeout(r, ms);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    this.closed = true;
    this.agent.destroy();
    if (this.queue.length > 0) {
      this.metrics.add("trellis_tracing_spans_dropped_total", DROPPED_EXPORT_FAILED, this.queue.length);
      this.queue = [];
    }
  }

  /** Starts an export of the next batch unless one is in flight; the next starts when it ends. */
  private kick(): void {
    if (this.inFlight !== null || this.queue.length === 0) return;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.queue.splice(0, this.settings.maxBatchSpans);
    this.inFlight = this.send(batch).finally(() => {
      this.inFlight = null;
      if (this.closed) return;
      // A full batch waiting goes at once; a partial one when its interval is up.
      if (this.queue.length >= this.settings.maxBatchSpans) this.kick();
      else if (this.queue.length > 0 && this.timer === null) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.kick();
        }, this.settings.flushIntervalMs);
        this.timer.unref();
      }
    });
  }

  private async send(batch: SpanRecord[]): Promise<void> {
    const { endpoint } = this.sink;
    const body = encodeExportTraceRequest(this.resource, SCOPE, batch);
    const outcome = await postOtlp(endpoint, body, this.settings.exportTimeoutMs, this.agent);
    if (outcome === null) {
      this.metrics.add("trellis_tracing_spans_exported_total", "", batch.length);
      if (this.failing) this.log(`trellis proxy: tracing: ${endpoint} accepts spans again`);
      this.failing = false;
      return;
    }
    this.metrics.add("trellis_tracing_spans_dropped_total", DROPPED_EXPORT_FAILED, batch.length);
    if (!this.failing)
      this.log(
        `trellis proxy: tracing: dropped ${batch.length} spans: ${endpoint} ${outcome}; counting further drops in trellis_tracing_spans_dropped_total`,
      );
    this.failing = true;
  }
}

/** An agent for the sink: keep-alive, and for the control plane the workload's certificate and only the mesh CA. */
export function agentFor(sink: SpanSink): http.Agent {
  const options = { keepAlive: true, maxSockets: 1, keepAliveMsecs: 10_000 };
  if (!sink.endpoint.startsWith("https:")) return new http.Agent(options);
  return new https.Agent(
    sink.tls
      ? {
          ...options,
          cert: sink.tls.certPem,
          key: sink.tls.keyPem,
          ca: sink.tls.caPem,
          minVersion: "TLSv1.2",
        }
      : options,
  );
}

/** POSTs one OTLP body; null when the endpoint accepted it (2xx), else why not. */
export function postOtlp(
  endpoint: string,
  body: Buffer,
  timeoutMs: number,
  agent: http.Agent,
  extraHeaders: Record<string, string> = {},
): Promise<string | null> {
  return new Promise((resolve) => {
    const url = new URL(endpoint);
    const client = url.protocol === "https:" ? https : http;
    const req = client.request(
      url,
      {
        method: "POST",
        agent,
        headers: {
          ...extraHeaders,
          "content-type": "application/x-protobuf",
          "content-length": body.length,
        },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume(); // an ExportTraceServiceResponse: partial_success is counted by the collector, not here
        const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
        res.once("end", () => resolve(ok ? null : `answered HTTP ${res.statusCode}`));
        res.once("error", (e) => resolve(`failed: ${e.message}`));
      },
    );
    req.once("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once("error", (e) => resolve(`failed: ${e.message}`));
    req.end(body);
  });
}

/** POSTs a body as it is and returns the endpoint's answer (status, type, body up to 64 KiB). */
function relayOtlp(
  sink: SpanSink,
  agent: http.Agent,
  body: Buffer,
  timeoutMs: number,
  headers: Record<string, string>,
): Promise<RelayAnswer> {
  return new Promise((resolve, reject) => {
    const url = new URL(sink.endpoint);
    const client = url.protocol === "https:" ? https : http;
    const req = client.request(
      url,
      { method: "POST", agent, headers: { ...headers, "content-length": body.length }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size <= 65_536) chunks.push(c);
        });
        res.once("end", () =>
          resolve({
            status: res.statusCode ?? 502,
            contentType: res.headers["content-type"] ?? "application/x-protobuf",
            body: Buffer.concat(chunks),
          }),
        );
        res.once("error", reject);
      },
    );
    req.once("timeout", () =>
      req.destroy(new Error(`the trace endpoint did not answer within ${timeoutMs} ms`)),
    );
    req.once("error", reject);
    req.end(body);
  });
}
