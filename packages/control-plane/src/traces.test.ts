// The trace store end to end: real sidecars joined to a real control plane send their spans over OTLP/HTTP
// with their workload certificates; an app instrumented with the OpenTelemetry SDK for Node (a real peer)
// sends its own through its sidecar; the control plane stores them in PostgreSQL as the workloads their
// certificates name, refuses what a sender may not claim, hands them on to an external collector (decoded
// there with the OpenTelemetry project's own protocol definitions) and prunes to its retention.
import { createServer, request, type Server } from "node:http";
import https from "node:https";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { context, propagation, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { NodeTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { MESH_TRACES_PATH } from "@trellis/contracts";
import { encodeExportTraceRequest, SPAN_KIND_CLIENT, SPAN_KIND_SERVER } from "@trellis/contracts/otlp";
import { createDb } from "@trellis/db";
import { createJoinToken, SYSTEM_ACTOR } from "@trellis/services";
import { fetchPinnedCa, generateKeyAndCsr, startMeshProxy, type MeshProxy } from "@trellis/dataplane/mesh";
import { LightProxy } from "./testing.js";
import { meshCompiler, startControlPlane, type CompileFn, type ControlPlane } from "./index.js";
import { insertSpans, pruneSpans, type SpanRow } from "./trace-store.js";
import { freePort, nameApp, TEST_MESH_SECRET } from "../test/support.js";

const NS = "traces";
const url = inject("databaseUrl");
const db = createDb(url);

// Every new trace sampled: the tests count spans, they do not sample them.
const realCompile = meshCompiler();
const compile: CompileFn = (input) => ({
  ...realCompile(input),
  tracing: { samplingPercent: 100, flushIntervalMs: 50 },
});

/** An external collector: decodes with @opentelemetry/otlp-transformer's compiled definitions, as a collector does. */
interface DecodedRequest {
  resourceSpans: {
    resource?: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: { traceId: Uint8Array; name: string }[] }[];
  }[];
}
const otelRoot = createRequire(import.meta.url)(
  "@opentelemetry/otlp-transformer/build/src/generated/root",
) as {
  opentelemetry: {
    proto: {
      collector: { trace: { v1: { ExportTraceServiceRequest: { decode(b: Uint8Array): DecodedRequest } } } };
    };
  };
};
const collected: { traceId: string; name: string; namespace: string }[] = [];
const collectorAuth: string[] = [];
let collector: Server;

let cp: ControlPlane;
let token = "";
const apps: Server[] = [];
const sidecars: MeshProxy[] = [];
let front: { outbound: number; admin: number };

async function sidecar(service: string, appPort: number) {
  const [inbound, outbound, admin] = [await freePort(), await freePort(), await freePort()];
  const m = startMeshProxy({
    controlPlaneUrls: [cp.url],
    token,
    node: { namespace: NS, service, version: "v1", address: `127.0.0.1:${inbound}`, labels: {} },
    app: { port: appPort },
    listeners: {
      inbound: { address: "127.0.0.1", port: inbound },
      outbound: { address: "127.0.0.1", port: outbound },
      admin: { address: "127.0.0.1", port: admin },
    },
    drainTimeoutMs: 500,
    log: process.env.DEBUG_SIDECARS ? (l) => console.log(`[${service}] ${l}`) : () => {},
  });
  sidecars.push(m);
  await m.ready;
  return { outbound, admin };
}

/** A call through a sidecar's outbound listener, with the headers an app sets (a traceparent). */
function call(outbound: number, service: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: outbound,
        path: "/reviews/1?secret=hunter2",
        headers: { host: service, ...headers },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
    req.end();
  });
}

async function spansOf(traceId: string, count: number) {
  for (let i = 0; i < 100; i++) {
    const rows = await db.traceSpan.findMany({ where: { traceId }, orderBy: { startedAt: "asc" } });
    if (rows.length >= count) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`trace ${traceId}: fewer than ${count} spans stored`);
}

/** POSTs a body to the intake with a client certificate (or none). */
function post(
  body: Buffer,
  tls: { certPem?: string; keyPem?: string },
  headers: Record<string, string> = {},
) {
  return new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    const req = https.request(
      new URL(MESH_TRACES_PATH, cp.url),
      {
        method: "POST",
        ca: cp.caPem,
        ...(tls.certPem ? { cert: tls.certPem, key: tls.keyPem } : {}),
        headers: { "content-type": "application/x-protobuf", ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

beforeAll(async () => {
  await db.traceSpan.deleteMany({ where: { namespace: NS } });
  collector = createServer((req, res) => {
    collectorAuth.push(req.headers.authorization ?? "");
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const decoded = otelRoot.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest.decode(
        Buffer.concat(chunks),
      );
      for (const rs of decoded.resourceSpans) {
        const ns =
          rs.resource?.attributes.find((a) => a.key === "service.namespace")?.value.stringValue ?? "";
        for (const ss of rs.scopeSpans)
          for (const s of ss.spans)
            collected.push({ traceId: Buffer.from(s.traceId).toString("hex"), name: s.name, namespace: ns });
      }
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((r) => collector.listen(0, "127.0.0.1", r));
  cp = await startControlPlane({
    databaseUrl: url,
    secret: TEST_MESH_SECRET,
    compile,
    port: 0,
    debounceMs: 20,
    registryIntervalMs: 100,
    traceSpansPerSecond: 50,
    traceForward: {
      endpoint: `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`,
      headers: { authorization: "Bearer collector-key" },
    },
  });
  token = (await createJoinToken(db, SYSTEM_ACTOR, { namespace: NS })).token;
  const [reviews, productpage] = [await nameApp("reviews-v1"), await nameApp("productpage")];
  apps.push(reviews.server, productpage.server);
  front = await sidecar("productpage", productpage.port);
  await sidecar("reviews", reviews.port);
  // Until productpage's sidecar has been pushed reviews' endpoint (these calls' spans are stored too, in
  // traces no test looks up).
  for (let i = 0; i < 100 && (await call(front.outbound, "reviews")) !== 200; i++)
    await new Promise((r) => setTimeout(r, 100));
}, 60_000);

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.close()));
  await cp?.close();
  for (const a of apps) a.close();
  collector?.close();
  await db.traceSpan.deleteMany({ where: { namespace: NS } });
  await db.$disconnect();
});

describe("the trace store", () => {
  it("keeps both sidecars' spans of a call, joined, as the workloads their certificates name", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const status = await call(front.outbound, "reviews", {
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    expect(status).toBe(200);
    const [client, server] = await spansOf(traceId, 2);
    expect(client).toMatchObject({
      namespace: NS,
      service: "productpage",
      version: "v1",
      origin: "proxy",
      kind: SPAN_KIND_CLIENT,
      parentSpanId: "00f067aa0ba902b7",
      peerNamespace: NS,
      peerService: "reviews",
      httpStatus: 200,
      statusCode: 0,
    });
    expect(server).toMatchObject({
      namespace: NS,
      service: "reviews",
      kind: SPAN_KIND_SERVER,
      parentSpanId: client!.spanId,
      peerService: "productpage",
    });
    // The server span lies within the client span, to the microsecond the store keeps.
    expect(server!.startedAt.getTime()).toBeGreaterThanOrEqual(client!.startedAt.getTime());
    expect(server!.durationMs).toBeLessThanOrEqual(client!.durationMs);
    // The query string is never recorded.
    expect(JSON.stringify(client!.attributes)).not.toContain("hunter2");
    expect((client!.attributes as Record<string, unknown>)["url.path"]).toBe("/reviews/1");
    // And the same spans reached the external collector, under their workload's namespace.
    await expect.poll(() => collected.filter((c) => c.traceId === traceId).length).toBe(2);
    expect(collected.find((c) => c.traceId === traceId)!.namespace).toBe(NS);
    expect(new Set(collectorAuth)).toEqual(new Set(["Bearer collector-key"]));
  });

  it("joins an app's own spans, from the OpenTelemetry SDK for Node, relayed by its sidecar", async () => {
    const provider = new NodeTracerProvider({
      resource: resourceFromAttributes({
        "service.name": "productpage-app",
        "service.namespace": "someone-else",
      }),
      spanProcessors: [
        new SimpleSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${front.admin}/v1/traces` })),
      ],
    });
    provider.register();
    try {
      const tracer = trace.getTracer("checkout");
      const span = tracer.startSpan("render product page");
      const headers: Record<string, string> = {};
      propagation.inject(trace.setSpan(context.active(), span), headers);
      expect(await call(front.outbound, "reviews", headers)).toBe(200);
      span.end();
      await provider.forceFlush();
      const traceId = span.spanContext().traceId;
      const rows = await spansOf(traceId, 3);
      const app = rows.find((r) => r.origin === "app")!;
      // Stored as the workload whose sidecar relayed it: the namespace it claimed is not taken.
      expect(app).toMatchObject({ namespace: NS, service: "productpage", name: "render product page" });
      expect((app.resource as Record<string, unknown>)["service.namespace"]).toBe(NS);
      expect((app.resource as Record<string, unknown>)["service.name"]).toBe("productpage-app");
      const client = rows.find((r) => r.origin === "proxy" && r.kind === SPAN_KIND_CLIENT)!;
      expect(client.parentSpanId).toBe(app.spanId);
      expect(rows.find((r) => r.kind === SPAN_KIND_SERVER)!.parentSpanId).toBe(client.spanId);
    } finally {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    }
  });

  it("takes spans only from a workload certificate of this mesh, and refuses bodies that are not OTLP", async () => {
    const span = {
      traceId: "5bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "1111111111111111",
      parentSpanId: null,
      name: "GET",
      kind: SPAN_KIND_CLIENT,
      startUnixNano: BigInt(Date.now()) * 1_000_000n,
      endUnixNano: BigInt(Date.now() + 5) * 1_000_000n,
      attributes: [
        ["trellis.source.namespace", NS],
        ["trellis.source.service", "ratings"],
      ] as const,
      status: { code: 0 },
    };
    const body = encodeExportTraceRequest([["service.name", "ratings"]], { name: "x", version: "1" }, [span]);
    // No client certificate: 401, whatever the body.
    const anonymous = await post(body, {});
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.toString()).toContain("workload certificate");
    // A certificate of this mesh, for `ratings` in NS.
    const { keyPem, csrPem } = await generateKeyAndCsr();
    const lp = new LightProxy({
      url: cp.url,
      token,
      caPem: await fetchPinnedCa(cp.url, token),
      csrPem,
      node: { namespace: NS, service: "ratings", version: "v1", address: "127.0.0.1:1", labels: {} },
    });
    await lp.connect();
    try {
      await lp.until(() => lp.certificate !== null, 10_000, "a certificate");
      const tls = { certPem: lp.certificate!.certPem, keyPem };
      expect((await post(Buffer.from("{}"), tls, { "content-type": "application/json" })).status).toBe(415);
      const garbage = await post(Buffer.from([0x0a, 0xff, 0xff, 0xff]), tls);
      expect(garbage.status).toBe(400);
      expect(garbage.body.toString()).toContain("malformed protobuf");
      expect((await post(body, tls)).status).toBe(200);
      expect(await spansOf(span.traceId, 1)).toMatchObject([{ service: "ratings", peerService: null }]);

      // A span of a call `ratings` took no part in: refused, and the answer says so (OTLP partial success).
      const forged = encodeExportTraceRequest([], { name: "x", version: "1" }, [
        {
          ...span,
          spanId: "2222222222222222",
          attributes: [
            ["trellis.source.namespace", NS],
            ["trellis.source.service", "reviews"],
          ],
        },
        { ...span, spanId: "3333333333333333", traceId: "00000000000000000000000000000000" },
      ]);
      const partial = await post(forged, tls);
      expect(partial.status).toBe(200);
      expect(partial.body.toString()).toContain("1 claims a call of another workload, 1 invalid trace id");
      expect(
        await db.traceSpan.count({ where: { spanId: { in: ["2222222222222222", "3333333333333333"] } } }),
      ).toBe(0);

      // The budget: 50 spans a second, 500 as a burst; a flood past it is refused, not stored.
      const flood = encodeExportTraceRequest(
        [],
        { name: "x", version: "1" },
        Array.from({ length: 600 }, (_, i) => ({
          ...span,
          traceId: "6bf92f3577b34da6a3ce929d0e0e4736",
          spanId: (0x1000 + i).toString(16).padStart(16, "0"),
        })),
      );
      const over = await post(flood, tls);
      expect(over.status).toBe(200);
      expect(over.body.toString()).toMatch(/\d+ over the service's span budget/);
      const stored = await db.traceSpan.count({ where: { traceId: "6bf92f3577b34da6a3ce929d0e0e4736" } });
      expect(stored).toBeGreaterThanOrEqual(490);
      expect(stored).toBeLessThan(600);
      expect(cp.stats().traces.refused).toBeGreaterThanOrEqual(600 - stored + 2);
    } finally {
      await lp.close();
    }
  });

  it("prunes spans past the age, then the oldest past the row count", async () => {
    const row = (i: number, ageMs: number): SpanRow => ({
      traceId: "7bf92f3577b34da6a3ce929d0e0e4736",
      spanId: (0x100 + i).toString(16).padStart(16, "0"),
      parentSpanId: null,
      namespace: NS,
      service: "prune",
      version: "",
      origin: "proxy",
      name: `span ${i}`,
      kind: 2,
      startMicros: BigInt(Date.now() - ageMs) * 1000n + 7n,
      durationMs: 1.000001,
      statusCode: 0,
      statusMessage: "",
      httpStatus: null,
      grpcStatus: null,
      peerNamespace: null,
      peerService: null,
      attributes: {},
      resource: {},
      events: [],
    });
    const DAY = 86_400_000;
    expect(await insertSpans(db, [row(0, 4 * DAY), row(1, 3 * DAY), row(2, 2 * DAY), row(3, DAY)])).toBe(4);
    // Microseconds kept.
    const [micro] = await db.$queryRaw<{ us: bigint }[]>`
      SELECT extract(microseconds FROM "startedAt")::bigint AS us FROM "TraceSpan" WHERE "spanId" = ${row(3, 0).spanId}`;
    expect(Number(micro!.us) % 1000).toBe(7);
    const mine = async () =>
      (
        await db.traceSpan.findMany({
          where: { service: "prune" },
          orderBy: { startedAt: "asc" },
          select: { name: true },
        })
      ).map((r) => r.name);
    await pruneSpans(db, { maxAgeMs: 3.5 * DAY, maxSpans: 1_000_000 });
    expect(await mine()).toEqual(["span 1", "span 2", "span 3"]);
    // The row count: these are the store's oldest spans (other tests' are from today), so keeping one row less
    // than the store holds removes the oldest of them.
    const total = await db.traceSpan.count();
    await pruneSpans(db, { maxAgeMs: 10 * DAY, maxSpans: total - 1 });
    expect(await mine()).toEqual(["span 2", "span 3"]);
  });
});
