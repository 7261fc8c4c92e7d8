import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";

/** Channel the console NOTIFYs after committing a change, so every replica recompiles (issue 4). */
export const CONFIG_CHANGED_CHANNEL = "trellis_config_changed";

export interface ControlPlaneOptions {
  databaseUrl: string;
  host?: string;
  port?: number;
  log?: (line: string) => void;
}

export interface ControlPlane {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the control plane: today its health endpoints and its subscription to config changes. The proxy
 * stream (registration, config push with ACK/NACK, CA, telemetry) is added on this server by issue 4.
 */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const log = opts.log ?? (() => {});
  const listener = new pg.Client({ connectionString: opts.databaseUrl });
  let dbHealthy = false;
  listener.on("error", (e) => {
    dbHealthy = false;
    log(`control plane: lost the database connection: ${e.message}`);
  });
  await listener.connect();
  await listener.query(`LISTEN ${CONFIG_CHANGED_CHANNEL}`);
  dbHealthy = true;
  listener.on("notification", (n) => log(`control plane: config changed (${n.payload ?? ""})`));

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "ok" }));
    } else if (req.method === "GET" && path === "/readyz") {
      res
        .writeHead(dbHealthy ? 200 : 503, { "content-type": "application/json" })
        .end(JSON.stringify({ status: dbHealthy ? "ready" : "database unavailable" }));
    } else {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not found" }));
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 15010, opts.host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host ?? "127.0.0.1"}:${port}`,
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await listener.end().catch(() => {});
    },
  };
}
