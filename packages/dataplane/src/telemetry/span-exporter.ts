// Spans leave the proxy here: a bounded queue, batches POSTed to an OTLP/HTTP endpoint (protobuf), one export
// at a time. A request only ever pays for `record` (an array push, or a counter when the queue is full):
// when the endpoint is slow or gone, spans are dropped and counted, never waited for, and the queue never
// holds more than `maxQueuedSpans`. A failed batch is dropped, not retried: retrying would only let the queue
// grow behind an endpoint that is already not keeping up (the OpenTelemetry SDK's BatchSpanProcessor drops too).
import http from "node:http";
import https from "node:https";
import type { Tracing } from "@trellis/contracts";
import { labelPairs, type Metrics } from "./metrics.js";
import { encodeExportTraceRequest, type Attributes, type SpanRecord } from "./otlp.js";

const DROPPED_QUEUE_FULL = labelPairs({ reason: "queue_full" });
const DROPPED_EXPORT_FAILED = labelPairs({ reason: "export_failed" });

/** The proxy as an OpenTelemetry instrumentation scope. */
const SCOPE = { name: "trellis-proxy", version: "0.1.0" };

export class SpanExporter {
  private queue: SpanRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private closed = false;
  private settings: Tracing;
  /** The endpoint's first failure since the last success is logged; the rest are counted only. */
  private failing = false;

  constructor(
    settings: Tracing,
    /** The workload, as resource attributes (`service.name`, `service.namespace`, …). */
    private resource: Attributes,
    private readonly metrics: Metrics,
    private readonly log: (line: string) => void,
  ) {
    this.settings = settings;
    // Every series exists from the start (at 0), so a rate() over them works before the first drop.
    metrics.add("trellis_tracing_spans_exported_total", "", 0);
    metrics.add("trellis_tracing_spans_dropped_total", DROPPED_QUEUE_FULL, 0);
    metrics.add("trellis_tracing_spans_dropped_total", DROPPED_EXPORT_FAILED, 0);
  }

  /** A new config's settings; spans already queued go to the new endpoint. */
  update(settings: Tracing, resource: Attributes): void {
    this.settings = settings;
    this.resource = resource;
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
    const { endpoint, exportTimeoutMs } = this.settings;
    const body = encodeExportTraceRequest(this.resource, SCOPE, batch);
    const outcome = await post(endpoint, body, exportTimeoutMs);
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

/** POSTs one OTLP body; null when the endpoint accepted it (2xx), else why not. */
function post(endpoint: string, body: Buffer, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const url = new URL(endpoint);
    const client = url.protocol === "https:" ? https : http;
    const req = client.request(
      url,
      {
        method: "POST",
        headers: { "content-type": "application/x-protobuf", "content-length": body.length },
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
