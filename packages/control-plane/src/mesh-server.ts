// The replica's HTTPS listener: health and readiness, the public mesh CA, and the upgrade to a proxy's stream,
// which is authenticated, checked against revocations heard and the per-token stream limit, and then handed
// to the caller. It knows nothing of sessions or snapshots.
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { MESH_CA_PATH, MESH_STREAM_PATH, MESH_TRACES_PATH, STREAM_CLOSE } from "@trellis/contracts";
import type { Authenticate } from "./join-auth.js";
import type { JoinScope } from "./session.js";

export interface MeshServerOptions {
  /** The serving certificate and key; the chain sent is the certificate, then the CA. */
  serving: { certPem: string; keyPem: string };
  caPem: string;
  authenticate: Authenticate;
  /** Streams one join token may hold open at once on this replica (see ControlPlaneOptions). */
  maxStreamsPerJoinToken: number;
  readiness: () => { ready: boolean; replica: string; proxies: number };
  isShuttingDown: () => boolean;
  /** Heard revoked since this replica started (a stream authenticated just before it committed). */
  isRevoked: (joinTokenId: string) => boolean;
  /** An accepted stream: the caller owns it, and calls `closed` once when it ends (frees its place). */
  onStream: (ws: WebSocket, scope: JoinScope, closed: () => void) => void;
  /** `POST /v1/traces` (the trace intake; it checks the client certificate itself). */
  onTraces: (req: IncomingMessage, res: ServerResponse) => void;
  log: (line: string) => void;
}

export interface MeshServer {
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting, ends every socket (upgraded ones too) and resolves when the server is closed. */
  close(): Promise<void>;
}

export function createMeshServer(opts: MeshServerOptions): MeshServer {
  const { log } = opts;
  const json = { "content-type": "application/json" };
  const server: Server = createServer(
    {
      cert: `${opts.serving.certPem.trim()}\n${opts.caPem.trim()}\n`,
      key: opts.serving.keyPem,
      minVersion: "TLSv1.2",
      // A client certificate is asked for, not required: proxies present their workload certificate to the
      // trace intake, which refuses a request without one; the CA, health and the stream (a join token) need none.
      requestCert: true,
      rejectUnauthorized: false,
      ca: opts.caPem,
    },
    (req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method === "GET" && path === "/healthz") {
        res.writeHead(200, json).end(JSON.stringify({ status: "ok" }));
      } else if (req.method === "GET" && path === "/readyz") {
        const { ready, replica, proxies } = opts.readiness();
        res
          .writeHead(ready ? 200 : 503, json)
          .end(JSON.stringify({ status: ready ? "ready" : "database unavailable", replica, proxies }));
      } else if (req.method === "GET" && path === MESH_CA_PATH) {
        // Public: proxies fetch it before they trust this server, then check it against their join token.
        res.writeHead(200, { "content-type": "application/x-pem-file" }).end(opts.caPem);
      } else if (path === MESH_TRACES_PATH) {
        if (req.method !== "POST")
          res.writeHead(405, { ...json, allow: "POST" }).end('{"error":"POST only"}');
        else opts.onTraces(req, res);
      } else {
        res.writeHead(404, json).end(JSON.stringify({ error: "not found" }));
      }
    },
  );
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  const wss = new WebSocketServer({ noServer: true, maxPayload: 8 * 1024 * 1024, perMessageDeflate: false });
  /** Open streams per join token id; see `maxStreamsPerJoinToken`. */
  const streamsPerToken = new Map<string, number>();

  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const path = (req.url ?? "/").split("?")[0];
    const refuse = (status: 401 | 404 | 503, message: string) => {
      const text = status === 401 ? "Unauthorized" : status === 404 ? "Not Found" : "Service Unavailable";
      socket.end(
        `HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${message}\n`,
      );
    };
    // A proxy told to go (1001) may come straight back, with no jitter, while this replica shuts down: a
    // stream opened then would never be closed, and close() would wait on its socket forever.
    const stopping = "control plane shutting down; reconnect to another replica";
    if (path !== MESH_STREAM_PATH) return refuse(404, "not found");
    if (opts.isShuttingDown()) return refuse(503, stopping);
    socket.on("error", () => socket.destroy());
    opts.authenticate(req).then(
      (scope) => {
        if (typeof scope === "string") return refuse(401, scope);
        if (opts.isRevoked(scope.joinTokenId))
          return refuse(401, "the join token is invalid, expired or revoked");
        if (opts.isShuttingDown()) return refuse(503, stopping);
        wss.handleUpgrade(req, socket, head, (ws) => {
          // Counted here, where the stream is added, so that concurrent upgrades cannot all pass the check.
          const id = scope.joinTokenId;
          const held = streamsPerToken.get(id) ?? 0;
          if (held >= opts.maxStreamsPerJoinToken) {
            const message = `this join token already holds ${held} streams on this replica (the limit)`;
            log(`control plane: refused a stream of join token ${id}: it holds ${held} (the limit)`);
            ws.send(JSON.stringify({ type: "error", code: "STREAM_LIMIT", message }));
            return ws.close(STREAM_CLOSE.tooManyStreams, message);
          }
          streamsPerToken.set(id, held + 1);
          opts.onStream(ws, scope, () => {
            const left = (streamsPerToken.get(id) ?? 1) - 1;
            if (left > 0) streamsPerToken.set(id, left);
            else streamsPerToken.delete(id);
          });
        });
      },
      (e: unknown) => {
        log(`control plane: join check failed: ${(e as Error).message}`);
        refuse(401, "join check failed");
      },
    );
  });

  return {
    async listen(port, host) {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve());
      });
      return (server.address() as AddressInfo).port;
    },
    async close() {
      // Upgraded sockets are no longer the HTTP server's: closeAllConnections() does not reach them.
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
