// Trace context in the demo's apps, as a well-behaved app in a mesh handles it. Every app forwards the W3C trace
// headers of the request it is serving on the calls it makes for it (Istio's Bookinfo does the same: a sidecar
// cannot know which outgoing call belongs to which incoming request). productpage goes further, as an app
// instrumented with the OpenTelemetry SDK for Node: it records a span of its own for each page it renders,
// sends it to its sidecar (the admin listener's `/v1/traces`, which relays it to the control plane), and
// makes its calls children of that span, so the app's own work shows up between the sidecars' spans.
import { AsyncLocalStorage } from "node:async_hooks";
import type { IncomingMessage } from "node:http";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Tracer } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";

const FORWARDED = ["traceparent", "tracestate"] as const;
const current = new AsyncLocalStorage<Record<string, string>>();

/** The trace headers of the request being served, for the calls made while serving it. */
export function traceHeaders(): Record<string, string> {
  return current.getStore() ?? {};
}

/** Runs `fn` (a request's handler) with the request's trace headers as the ones its calls forward. */
export function withRequestTrace<T>(req: IncomingMessage, fn: () => T): T {
  const headers: Record<string, string> = {};
  for (const h of FORWARDED) {
    const v = req.headers[h];
    if (typeof v === "string") headers[h] = v;
  }
  return current.run(headers, fn);
}

const propagator = new W3CTraceContextPropagator();

/**
 * An app's own spans, sent over OTLP to `endpoint()` (its sidecar's admin listener), resolved at the first span:
 * the demo starts apps before their sidecars. Nothing is recorded while it has no endpoint. Not registered as
 * the process's global tracer: `trellis up --demo` runs every app in one process, each with its own sidecar.
 */
export class AppTracer {
  private provider: BasicTracerProvider | null = null;
  private tracer: Tracer | null = null;

  constructor(
    private readonly endpoint: () => string | undefined,
    private readonly service: { name: string; version: string; namespace: string },
  ) {}

  private ready(): Tracer | null {
    if (this.tracer) return this.tracer;
    const url = this.endpoint();
    if (!url) return null;
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        "service.name": this.service.name,
        "service.version": this.service.version,
        "service.namespace": this.service.namespace,
      }),
      spanProcessors: [
        new BatchSpanProcessor(new OTLPTraceExporter({ url }), {
          scheduledDelayMillis: 500,
          maxQueueSize: 2048,
        }),
      ],
    });
    this.tracer = this.provider.getTracer("trellis-demo", "0.1.0");
    return this.tracer;
  }

  /**
   * Serves `req` inside a span of the app's own, a child of the request's trace (when it is sampled: an
   * unsampled request gets a non-recording span, and its calls keep the caller's decision). Calls made by `fn`
   * carry the span's context.
   */
  async span<T>(name: string, req: IncomingMessage, fn: () => Promise<T>): Promise<T> {
    const tracer = this.ready();
    if (!tracer) return withRequestTrace(req, fn);
    const parent = propagator.extract(ROOT_CONTEXT, req.headers, {
      get: (carrier, key) => carrier[key] as string | string[] | undefined,
      keys: (carrier) => Object.keys(carrier),
    });
    const span = tracer.startSpan(
      name,
      { kind: SpanKind.SERVER, attributes: { "url.path": (req.url ?? "/").split("?")[0]! } },
      parent,
    );
    const headers: Record<string, string> = {};
    propagator.inject(trace.setSpan(parent, span), headers, {
      set: (carrier, key, value) => ((carrier as Record<string, string>)[key] = value),
    });
    try {
      return await current.run(headers, fn);
    } catch (e) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
      throw e;
    } finally {
      span.end();
    }
  }

  async close(): Promise<void> {
    await this.provider?.shutdown().catch(() => {});
  }
}
