// Spans from two real sidecars on mTLS (web → reviews), exported over OTLP/HTTP to a collector that decodes them
// with the OpenTelemetry project's own protocol definitions. One request is one trace: web's client span, then
// reviews' server span as its child, then the app sees reviews' span as its parent. Sampling follows the
// config's percentage for new traces and the caller's flag for the rest; a slow or absent collector costs
// requests nothing and the spans it could not take are counted.
import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startMesh, type Mesh } from "./test-support/mesh.js";
import { startCollector, type CollectedSpan, type TestCollector } from "./test-support/collector.js";
import { scrape } from "./test-support/prometheus.js";
import { startProxy, type ProxyHandle } from "./index.js";
import { TestPki } from "./test-pki.js";
import { startInteropServer, type InteropServer } from "./test-support/interop/server.js";
import { connectInterop, INTEROP_CASES, type InteropClients } from "./test-support/interop/client.js";

let mesh: Mesh;
let collector: TestCollector;
let version = 0;

/** Both sidecars with `tracing` (or without: null). */
function trace(tracing: Record<string, unknown> | null): void {
  version++;
  const t =
    tracing === null ? {} : { tracing: { endpoint: collector.endpoint, flushIntervalMs: 50, ...tracing } };
  for (const [proxy, config] of [
    [mesh.web, mesh.webConfig(`w-t${version}`)],
    [mesh.reviews, mesh.reviewsConfig(`r-t${version}`)],
  ] as const) {
    const r = proxy.applyConfig({ ...config, ...t });
    expect(r).toMatchObject({ ok: true });
  }
}

async function call(path: string, headers: Record<string, string> = {}) {
  const res = await request(`http://127.0.0.1:${mesh.web.addresses.outbound!.port}${path}`, {
    headers: { host: "reviews", ...headers },
  });
  const body = await res.body.text();
  return { status: res.statusCode, body };
}

/** The spans of one trace, once both sidecars have exported theirs. */
async function spansOf(traceId: string, n = 2): Promise<CollectedSpan[]> {
  await expect.poll(() => collector.spans.filter((s) => s.traceId === traceId).length).toBe(n);
  return collector.spans.filter((s) => s.traceId === traceId);
}

beforeAll(async () => {
  mesh = await startMesh();
  collector = await startCollector();
});

afterAll(async () => {
  await mesh?.close();
  await collector?.close();
});

afterEach(() => collector.behave({}));

describe("spans from the sidecars", () => {
  it("records a request as one trace: web's client span, reviews' server span under it, the app under that", async () => {
    trace({ samplingPercent: 100 });
    const r = await call("/status/200?secret=s3cr3t");
    expect(r.status).toBe(200);
    const seen = mesh.reviewsApp.seen.at(-1)!;
    const [, traceId, appParent, flags] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(
      String(seen.headers.traceparent),
    )!;
    expect(flags).toBe("01");
    const spans = await spansOf(traceId!);
    const client = spans.find((s) => s.kind === 3)!;
    const server = spans.find((s) => s.kind === 2)!;
    expect(client.parentSpanId).toBe(""); // the trace started at web's sidecar
    expect(server.parentSpanId).toBe(client.spanId);
    expect(server.spanId).toBe(appParent);
    expect(client.start).toBeLessThanOrEqual(server.start);
    expect(client.end).toBeGreaterThanOrEqual(server.end);
    expect(client.end - client.start).toBeGreaterThan(0n);
    // Unix nanoseconds, now-ish.
    expect(Number(client.start / 1_000_000n)).toBeGreaterThan(Date.now() - 60_000);

    expect(client.name).toBe("GET reviews.shop");
    expect(client.resource).toMatchObject({
      "service.name": "web",
      "service.namespace": "shop",
      "service.version": "v3",
    });
    expect(client.scope).toBe("trellis-proxy");
    expect(client.attributes).toMatchObject({
      "http.request.method": "GET",
      "http.response.status_code": 200,
      "url.path": "/status/200",
      "server.address": "reviews",
      "trellis.direction": "outbound",
      "trellis.protocol": "http1",
      "trellis.source.service": "web",
      "trellis.destination.service": "reviews",
      "trellis.destination.version": "v1",
      "trellis.mtls": true,
      "trellis.attempts": 1,
    });
    expect(client.attributes["network.peer.address"]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(server.resource["service.name"]).toBe("reviews");
    expect(server.attributes).toMatchObject({
      "trellis.direction": "inbound",
      "trellis.source.service": "web",
      "trellis.source.principal": "spiffe://trellis.test/ns/shop/sa/web",
      "http.response.status_code": 200,
    });
    // The query stays out of the trace store.
    expect(JSON.stringify(spans, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).not.toContain(
      "s3cr3t",
    );
    expect(client.status.code).toBe(0);
  });

  it("marks failures: a 503 from the app is an error on both spans, a 404 on the client's only", async () => {
    trace({ samplingPercent: 100 });
    await call("/status/503");
    const t503 = String(mesh.reviewsApp.seen.at(-1)!.headers.traceparent).split("-")[1]!;
    const s503 = await spansOf(t503);
    expect(s503.map((s) => s.status.code)).toEqual([2, 2]);
    await call("/status/404");
    const t404 = String(mesh.reviewsApp.seen.at(-1)!.headers.traceparent).split("-")[1]!;
    const s404 = await spansOf(t404);
    expect(Object.fromEntries(s404.map((s) => [s.kind, s.status.code]))).toEqual({ 2: 0, 3: 2 });
  });

  it("records what the proxy answered itself, with the Trellis error code", async () => {
    trace({ samplingPercent: 100 });
    const traceId = "6bf92f3577b34da6a3ce929d0e0e4736";
    const r = await call("/x", { host: "nowhere", traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expect(r.status).toBe(404);
    const [span] = await spansOf(traceId, 1);
    expect(span!.name).toBe("GET nowhere");
    expect(span!.status).toEqual({ code: 2, message: "DP_UNKNOWN_SERVICE" });
    expect(span!.attributes).toMatchObject({
      "trellis.error_code": "DP_UNKNOWN_SERVICE",
      "http.response.status_code": 404,
      "trellis.destination.service": "unknown",
    });
  });

  it("continues the caller's trace, and its sampled flag decides over the percentage", async () => {
    trace({ samplingPercent: 0 });
    const sampledTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    await call("/status/200", { traceparent: `00-${sampledTrace}-00f067aa0ba902b7-01` });
    const spans = await spansOf(sampledTrace);
    expect(spans.find((s) => s.kind === 3)!.parentSpanId).toBe("00f067aa0ba902b7");

    trace({ samplingPercent: 100 });
    const unsampled = "5bf92f3577b34da6a3ce929d0e0e4736";
    const before = collector.requests;
    await call("/status/200", { traceparent: `00-${unsampled}-00f067aa0ba902b7-00` });
    expect(String(mesh.reviewsApp.seen.at(-1)!.headers.traceparent)).toMatch(/-00$/);
    await call("/status/200"); // a sampled one, so there is an export to wait for
    await expect.poll(() => collector.requests).toBeGreaterThan(before);
    expect(collector.spans.some((s) => s.traceId === unsampled)).toBe(false);
  });

  it("samples about the configured share of new traces, and flags the rest unsampled downstream", async () => {
    trace({ samplingPercent: 25 });
    const n = 200;
    const start = mesh.reviewsApp.seen.length;
    for (let i = 0; i < n; i++) await call("/status/200");
    const flags = mesh.reviewsApp.seen.slice(start).map((s) => String(s.headers.traceparent).slice(-2));
    const sampled = flags.filter((f) => f === "01").length;
    expect(flags.filter((f) => f !== "01" && f !== "00")).toEqual([]);
    // Binomial(200, 0.25): mean 50, sd ~6.1; ±5 sd.
    expect(sampled).toBeGreaterThan(20);
    expect(sampled).toBeLessThan(80);
    const ids = new Set(
      mesh.reviewsApp.seen
        .slice(start)
        .filter((s) => String(s.headers.traceparent).endsWith("-01"))
        .map((s) => String(s.headers.traceparent).split("-")[1]),
    );
    await expect.poll(() => collector.spans.filter((s) => ids.has(s.traceId)).length).toBe(sampled * 2);
  });

  it("never makes a request wait for a slow collector: spans past the queue are dropped and counted", async () => {
    trace({
      samplingPercent: 100,
      maxQueuedSpans: 4,
      maxBatchSpans: 2,
      flushIntervalMs: 10,
      exportTimeoutMs: 300,
    });
    collector.behave({ delayMs: 2_000 });
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) expect((await call("/status/200")).status).toBe(200);
    const perCall = (performance.now() - t0) / 20;
    // Each call is far below the collector's delay (a request never waits for an export).
    expect(perCall).toBeLessThan(500);
    const m = await scrape(mesh.web.addresses.admin!.port);
    expect(m.value("trellis_tracing_spans_dropped_total", { reason: "queue_full" })).toBeGreaterThan(0);
    await expect
      .poll(async () =>
        (await scrape(mesh.web.addresses.admin!.port)).value("trellis_tracing_spans_dropped_total", {
          reason: "export_failed",
        }),
      )
      .toBeGreaterThan(0);
  });

  it("counts what the collector refused, and what it took", async () => {
    trace({ samplingPercent: 100 });
    collector.behave({ status: 503 });
    await call("/status/200");
    const port = mesh.web.addresses.admin!.port;
    const dropped = (await scrape(port)).value("trellis_tracing_spans_dropped_total", {
      reason: "export_failed",
    });
    await expect
      .poll(async () =>
        (await scrape(port)).value("trellis_tracing_spans_dropped_total", { reason: "export_failed" }),
      )
      .toBeGreaterThan(dropped);
    collector.behave({});
    const exported = (await scrape(port)).value("trellis_tracing_spans_exported_total");
    await call("/status/200");
    const traceId = String(mesh.reviewsApp.seen.at(-1)!.headers.traceparent).split("-")[1]!;
    await spansOf(traceId);
    // At least this trace's client span (batches of earlier tests may still have been on their way).
    expect((await scrape(port)).value("trellis_tracing_spans_exported_total")).toBeGreaterThan(exported);
  });

  it("records nothing without tracing, and still propagates the trace context", async () => {
    trace(null);
    const before = collector.requests;
    await call("/status/200");
    expect(String(mesh.reviewsApp.seen.at(-1)!.headers.traceparent)).toMatch(
      /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(collector.requests).toBe(before);
  });
});

describe("spans of gRPC calls (grpc-js on both ends, the gRPC project's interop cases)", () => {
  const TD = "trellis.test";
  const L0 = { address: "127.0.0.1", port: 0 };
  let server: InteropServer;
  let caller: ProxyHandle;
  let callee: ProxyHandle;
  let clients: InteropClients;

  beforeAll(async () => {
    const pki = new TestPki();
    const identity = (service: string) => ({ namespace: "interop", service, version: "v1", trustDomain: TD });
    const tracing = { samplingPercent: 100, endpoint: collector.endpoint, flushIntervalMs: 50 };
    server = await startInteropServer();
    callee = await startProxy({
      config: {
        version: "s1",
        identity: identity("server"),
        tls: pki.issue(TD, "interop", "server"),
        inbound: { appPort: server.port, appProtocol: "h2c" },
        tracing,
      },
      listeners: { inbound: L0, outbound: null, admin: null },
      log: () => {},
    });
    caller = await startProxy({
      config: {
        version: "c1",
        identity: identity("client"),
        tls: pki.issue(TD, "interop", "client"),
        services: [
          {
            name: "server",
            namespace: "interop",
            port: 8080,
            endpoints: [{ address: `127.0.0.1:${callee.addresses.inbound!.port}` }],
          },
        ],
        tracing,
      },
      listeners: { outbound: L0, inbound: null, admin: null },
      log: () => {},
    });
    clients = connectInterop({
      address: `127.0.0.1:${caller.addresses.outbound!.port}`,
      authority: "server:8080",
    });
  });

  afterAll(async () => {
    clients?.close();
    await caller?.close();
    await callee?.close();
    await server?.close();
  });

  it("names each call's spans Service/Method, with the RPC attributes and the status the client saw", async () => {
    await INTEROP_CASES.empty_unary(clients);
    await INTEROP_CASES.status_code_and_message(clients);
    const rpc = (method: string) => collector.spans.filter((s) => s.attributes["rpc.method"] === method);
    await expect.poll(() => rpc("EmptyCall").length).toBe(2);
    for (const s of rpc("EmptyCall")) {
      expect(s.name).toBe("grpc.testing.TestService/EmptyCall");
      expect(s.attributes).toMatchObject({
        "rpc.system": "grpc",
        "rpc.service": "grpc.testing.TestService",
        "rpc.grpc.status_code": 0,
        "network.protocol.version": "2",
        "trellis.protocol": "grpc",
      });
      expect(s.status.code).toBe(0);
    }
    // UNKNOWN (2) with a message: an error for the client, and a server fault (2 is one) on the server span.
    await expect
      .poll(() => rpc("UnaryCall").filter((s) => s.attributes["rpc.grpc.status_code"] === 2).length)
      .toBe(2);
    const failed = rpc("UnaryCall").filter((s) => s.attributes["rpc.grpc.status_code"] === 2);
    expect(failed.map((s) => s.status.code)).toEqual([2, 2]);
    const [a, b] = failed;
    expect(a!.traceId).toBe(b!.traceId);
  });
});
