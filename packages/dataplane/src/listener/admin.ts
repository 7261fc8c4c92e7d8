// The admin listener: readiness, Prometheus metrics, the config in force and endpoint health. Bound to
// loopback by default; it reveals topology (never key material).
import http from "node:http";
import type { Snapshot } from "../config/snapshot.js";

export interface AdminSource {
  snapshot: Snapshot;
  ready(): boolean;
  prometheus(): string;
  lastRejection(): { version: string; error: string; at: string } | null;
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
            endpoints: ["/ready", "/stats/prometheus", "/config_dump", "/clusters"],
          });
      }
    },
  );
}
