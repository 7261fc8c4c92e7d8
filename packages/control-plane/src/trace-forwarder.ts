// Hands stored spans on to an external collector (Jaeger, Tempo, an OpenTelemetry Collector: all take
// OTLP/HTTP protobuf), as the mesh stored them: each span under its workload's resource, the namespace the
// sender's certificate named. Bounded like the sidecar's exporter: a queue of at most `maxQueuedSpans`, one
// request in flight, a failed batch dropped and counted, never retried and never in a request's way.
import http from "node:http";
import https from "node:https";
import {
  encodeExportTraceRequest,
  type AttributeValue,
  type Attributes,
  type DecodedValue,
  type SpanRecord,
} from "@trellis/contracts/otlp";
import type { SpanRow } from "./trace-store.js";

export interface TraceForwardOptions {
  /** `http(s)://collector:4318/v1/traces` */
  endpoint: string;
  /** Sent with every request (an API key a hosted collector wants). Never logged. */
  headers?: Record<string, string>;
  maxQueuedSpans?: number;
  maxBatchSpans?: number;
  flushIntervalMs?: number;
  exportTimeoutMs?: number;
  log: (line: string) => void;
}

export interface TraceForwarder {
  enqueue(rows: readonly SpanRow[]): void;
  stats(): { forwarded: number; dropped: number };
  /** Sends what is queued for at most `ms`, then stops. */
  close(ms?: number): Promise<void>;
}

const SCOPE = { name: "trellis-control-plane", version: "0.1.0" };

function attributes(values: Record<string, DecodedValue>): Attributes {
  return Object.entries(values).map(([k, v]) => [k, v] as const);
}

function record(r: SpanRow): SpanRecord {
  const start = r.startMicros * 1_000n;
  return {
    traceId: r.traceId,
    spanId: r.spanId,
    parentSpanId: r.parentSpanId,
    name: r.name,
    kind: r.kind,
    startUnixNano: start,
    endUnixNano: start + BigInt(Math.round(r.durationMs * 1e6)),
    attributes: attributes(r.attributes),
    status: { code: r.statusCode, message: r.statusMessage },
    events: r.events.map((e) => ({
      name: e.name,
      timeUnixNano: BigInt(e.timeUnixNano),
      attributes: attributes(e.attributes),
    })),
  };
}

/** One body for a batch: a ResourceSpans per workload resource (repeated fields concatenate in protobuf). */
export function encodeRows(rows: readonly SpanRow[]): Buffer {
  const groups = new Map<string, { resource: Attributes; spans: SpanRecord[] }>();
  for (const r of rows) {
    const resource = Object.entries(r.resource).filter(
      (e): e is [string, AttributeValue | AttributeValue[]] => e[1] !== undefined,
    );
    const key = JSON.stringify(resource);
    const g = groups.get(key) ?? { resource, spans: [] };
    g.spans.push(record(r));
    groups.set(key, g);
  }
  return Buffer.concat([...groups.values()].map((g) => encodeExportTraceRequest(g.resource, SCOPE, g.spans)));
}

export function createTraceForwarder(o: TraceForwardOptions): TraceForwarder {
  const maxQueued = o.maxQueuedSpans ?? 20_000;
  const maxBatch = o.maxBatchSpans ?? 1_000;
  const flushMs = o.flushIntervalMs ?? 1_000;
  const timeoutMs = o.exportTimeoutMs ?? 10_000;
  const url = new URL(o.endpoint);
  const client = url.protocol === "https:" ? https : http;
  const agent = new client.Agent({ keepAlive: true, maxSockets: 1 });
  let queue: SpanRow[] = [];
  let inFlight: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let failing = false;
  let closed = false;
  const stats = { forwarded: 0, dropped: 0 };

  function post(body: Buffer): Promise<string | null> {
    return new Promise((resolve) => {
      const req = client.request(
        url,
        {
          method: "POST",
          agent,
          timeout: timeoutMs,
          headers: {
            ...o.headers,
            "content-type": "application/x-protobuf",
            "content-length": body.length,
          },
        },
        (res) => {
          res.resume();
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

  function schedule(): void {
    if (timer !== null || closed) return;
    timer = setTimeout(() => {
      timer = null;
      kick();
    }, flushMs);
    timer.unref();
  }

  function kick(): void {
    if (inFlight !== null || queue.length === 0) return;
    const batch = queue.splice(0, maxBatch);
    inFlight = post(encodeRows(batch)).then((outcome) => {
      inFlight = null;
      if (outcome === null) {
        stats.forwarded += batch.length;
        if (failing) o.log(`control plane: ${url.origin} accepts forwarded spans again`);
        failing = false;
      } else {
        stats.dropped += batch.length;
        // The endpoint without its path or credentials in the URL: only the origin is logged.
        if (!failing)
          o.log(`control plane: forwarding ${batch.length} spans to ${url.origin} ${outcome}; dropping them`);
        failing = true;
      }
      if (queue.length >= maxBatch) kick();
      else if (queue.length > 0) schedule();
    });
  }

  return {
    enqueue(rows) {
      if (closed) return;
      const room = Math.max(0, maxQueued - queue.length);
      if (rows.length > room) stats.dropped += rows.length - room;
      for (let i = 0; i < Math.min(room, rows.length); i++) queue.push(rows[i]!);
      if (queue.length >= maxBatch) kick();
      else schedule();
    },
    stats: () => ({ ...stats }),
    async close(ms = 2_000) {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      const deadline = Date.now() + ms;
      while ((queue.length > 0 || inFlight !== null) && Date.now() < deadline) {
        if (inFlight === null) kick();
        await Promise.race([inFlight, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))]);
      }
      closed = true;
      stats.dropped += queue.length;
      queue = [];
      agent.destroy();
    },
  };
}
