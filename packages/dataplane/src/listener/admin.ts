// The admin listener: readiness, Prometheus metrics, the config in force and endpoint health, and the local
// app's OTLP trace exports (relayed to the trace endpoint). Bound to loopback by default; it reveals topology
// (never key material).
import http from "node:http";
import type { Snapshot } from "../config/snapshot.js";
import type { RelayAnswer } from "../telemetry/span-exporter.js";

/** Largest OTLP request of the app taken for relaying (the control plane takes the same). */
const MAX_APP_TRACES_BYTES = 4 * 1024 * 1024;

export interface AdminSource {
  snapshot: Snapshot;
  ready(): boolean;
  prometheus(): string;
  lastRejection(): { version: string; error: string; at: string } | null;
  /** Relays the app's OTLP export; null when the proxy has no trace endpoint. */
  relaySpans(
    body: Buffer,
    contentType: string,
    contentEncoding: string | undefined,
  ): Promise<RelayAnswer> | null;
}

function redacted(s: Snapshot): unknown {
  const c = s.config;
  if (!c.tls) return c;
  return { ...c, tls: { ...c.tls, keyPem: c.tls.keyPem === undefined ? undefined : "[redacted]" } };
}

export function createAdmin(src: AdminSource): http.Server {
  return http.createServer(
    { maxHeaderSize: 8192, requestTimeout: 10_000, headersTimeout: 5_000 },
    (req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      const json = (status: number, body: unknown) => {
        const text = JSON.stringify(body, null, 2) + "\n";
        res.writeHead(status, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(text),
        });
        res.end(text);
      };
      if (path === "/v1/traces") return appTraces(src, req, res);
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD" }).end();
        return;
      }
      switch (path) {
        case "/ready": {
          const ok = src.ready();
          res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "LIVE\n" : "DRAINING\n");
          return;
        }
        case "/stats/prometheus": {
          let text: string;
          try {
            text = src.prometheus();
          } catch (err) {
            // A sample of an unregistered family (telemetry/families.ts): a scrape error, not a crashed sidecar.
            res.writeHead(500, { "content-type": "text/plain" }).end(`${(err as Error).message}\n`);
            return;
          }
          res
            .writeHead(200, {
              "content-type": "text/plain; version=0.0.4; charset=utf-8",
              "content-length": Buffer.byteLength(text),
            })
            .end(text);
          return;
        }
        case "/config_dump": {
          const s = src.snapshot;
          json(200, { version: s.version, config: redacted(s), lastRejection: src.lastRejection() });
          return;
        }
        case "/clusters": {
          const now = performance.now();
          const s = src.snapshot;
          json(200, {
            version: s.version,
            clusters: s.services.map((c) => ({
              name: c.service.name,
              namespace: c.service.namespace,
              protocol: c.service.protocol,
              activeRequests: c.destination.active,
              retries: c.destination.retriesTotal,
              endpoints: c.destination.endpoints.map((e) => ({
                address: e.address,
                version: e.version,
                weight: e.weight,
                labels: e.labels,
                healthy: e.healthy,
                ejected: e.ejected && now < e.ejectedUntil,
                ejectedForMs: e.ejected && now < e.ejectedUntil ? Math.round(e.ejectedUntil - now) : 0,
                activeRequests: e.active,
                requests: e.requests,
                failures: e.failures,
                // HTTP/2 sessions to this endpoint and the streams open on them (null: none ever opened).
                h2:
                  e.h2IfOpen === null
                    ? null
                    : { sessions: e.h2IfOpen.sessionCount, activeStreams: e.h2IfOpen.activeStreams },
              })),
            })),
          });
          return;
        }
        default:
          json(404, {
            error: "not found",
            endpoints: ["/ready", "/stats/prometheus", "/config_dump", "/clusters", "POST /v1/traces"],
          });
      }
    },
  );
}

/** `POST /v1/traces`: an OTLP/HTTP export of the local app, relayed as it is (see SpanExporter.relay). */
function appTraces(src: AdminSource, req: http.IncomingMessage, res: http.ServerResponse): void {
  const text = (status: number, message: string) => {
    req.resume();
    res.writeHead(status, { "content-type": "text/plain" }).end(`${message}\n`);
  };
  if (req.method !== "POST") return void res.writeHead(405, { allow: "POST" }).end();
  const type = req.headers["content-type"] ?? "";
  // Protobuf only, as the control plane's intake takes it (an SDK's `http/protobuf` protocol, its default).
  if (!type.startsWith("application/x-protobuf"))
    return text(415, "OTLP/HTTP protobuf only: content-type application/x-protobuf");
  if (Number(req.headers["content-length"] ?? 0) > MAX_APP_TRACES_BYTES)
    return text(413, `larger than ${MAX_APP_TRACES_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on("data", (c: Buffer) => {
    size += c.length;
    if (size > MAX_APP_TRACES_BYTES) over = true;
    else chunks.push(c);
  });
  req.on("end", () => {
    if (over) return text(413, `larger than ${MAX_APP_TRACES_BYTES} bytes`);
    const relayed = src.relaySpans(Buffer.concat(chunks), type, req.headers["content-encoding"]);
    if (relayed === null) return text(503, "this proxy has no trace endpoint (tracing is off)");
    void relayed.then((a) =>
      res.writeHead(a.status, { "content-type": a.contentType, "content-length": a.body.length }).end(a.body),
    );
  });
}
