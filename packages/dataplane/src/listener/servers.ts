// The HTTP servers behind a listener socket: Node's http for HTTP/1.1, http2 for h2/h2c. Connections are
// accepted by our own net server and handed over (`emit('connection')`), so one port serves TLS and plain text,
// HTTP/1 and HTTP/2. Malformed requests are answered here (400/431) and never reach a stack.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import http2, { type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import type { Socket } from "node:net";
import type { Limits } from "@trellis/contracts/proxy";
import { admitHttp1, badRequest, onClientError } from "./http1-guard.js";

export type RequestHandler = (
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse | null,
  isH2: boolean,
  raw?: { socket: Socket; head: Buffer; protocol: string },
) => void;

export function createHttp1(handler: RequestHandler, limits: Limits, onBadRequest: () => void): http.Server {
  const maxHeaders = limits.maxHeaders;
  const server = http.createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      // Node enforces these only on sockets its own listen() accepted; ours are handed over, so the limits are
      // enforced by the socket idle timer (heads) and guardBody (bodies) instead.
      requestTimeout: 0,
      headersTimeout: 0,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      noDelay: true,
      // Request smuggling defence: refuse ambiguous framing instead of guessing.
      insecureHTTPParser: false,
      joinDuplicateHeaders: false,
      // http1-guard.ts answers a missing Host like every other refusal (x-trellis-error, counted).
      requireHostHeader: false,
    },
    (req, res) => {
      // What llhttp lets through that a proxy must still refuse; a refused request never reaches a stack.
      if (admitHttp1(req, res, maxHeaders, onBadRequest)) handler(req, res, false);
    },
  );
  // No count limit in Node: it drops headers past it from what we see but not from what llhttp frames by.
  // http1-guard.ts refuses requests over `limits.maxHeaders` instead (431); the head size bounds the work.
  server.maxHeadersCount = 0;
  server.maxRequestsPerSocket = 0;
  // HTTP/1.1 Upgrade (WebSocket): routed and authorized like any request, then the connections are joined.
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.setTimeout(0);
    socket.on("error", () => socket.destroy());
    if (!admitHttp1(req, null, maxHeaders, onBadRequest)) return;
    handler(req, null, false, { socket, head, protocol: String(req.headers.upgrade ?? "").toLowerCase() });
  });
  // Node enforces headersTimeout only on sockets its own listen() accepted; ours are handed over, so slow
  // heads are bounded by the socket idle timer set at handoff (see idleGuard) and answered 408 here.
  // With a 'timeout' listener Node no longer destroys timed-out sockets itself: a socket with a response in
  // progress is left alone (upstream timeouts govern it), an idle or half-sent one is closed.
  server.on("timeout", (socket: Socket) => {
    if ((socket as Socket & { _httpMessage?: unknown })._httpMessage) return;
    if (socket.writable && socket.bytesRead > 0)
      socket.end(badRequest("DP_BAD_REQUEST", 408, "request head not received in time"));
    socket.destroySoon();
  });
  // Malformed HTTP (llhttp's verdict): 400/431 and close, and a request cut mid-body is cut upstream too.
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) =>
    onClientError(err, socket, onBadRequest),
  );
  return server;
}

export function createH2(handler: RequestHandler, limits: Limits): http2.Http2Server {
  const server = http2.createServer({
    maxHeaderListPairs: limits.maxHeaders,
    maxSessionMemory: 32,
    settings: { maxHeaderListSize: limits.maxHeaderBytes },
  });
  server.on("request", (req, res) => handler(req, res, true));
  server.on("sessionError", () => {});
  server.setTimeout(limits.keepAliveTimeoutMs);
  return server;
}
