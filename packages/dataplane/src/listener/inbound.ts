// The inbound listener: other sidecars reach this workload here over mTLS. One port accepts TLS and, in
// permissive mode, plain text; the caller's SPIFFE ID comes from its verified certificate, never from a header.
// Requests then run the inbound stack (authorization, rate limit, timeout) and go to the local app.
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { ProxyError } from "../core/errors.js";
import type { ClientResponse } from "../core/respond.js";
import { newContext, type ProxyRequest } from "../core/types.js";
import { nextSpan } from "../telemetry/trace.js";
import { certSpiffeId } from "../tls/identity.js";
import { Exchange, readHead } from "./edge.js";
import type { ProxyCore } from "./core.js";
import { sniff } from "./sniff.js";
import { acceptInboundTcp, TCP_ALPN } from "./tcp.js";

/** The verified peer identity, stored on the TLS socket at handshake time. */
const kPeer = Symbol("trellis.peer");
type PeerSocket = Socket & { [kPeer]?: string | null };

export interface InboundServers {
  http1: { emit(event: "connection", socket: Socket): boolean };
  h2: { emit(event: "connection", socket: Socket): boolean };
}

/** Accepts one raw connection on the inbound port. */
export function acceptInbound(core: ProxyCore, servers: InboundServers, socket: Socket, handshakeTimeoutMs: number): void {
  socket.setNoDelay(true);
  sniff(socket, handshakeTimeoutMs, (kind) => {
    const snap = core.snapshot;
    const ib = snap.inbound;
    if (kind !== "tls") {
      if (ib !== null && ib.mtlsMode === "permissive") {
        (socket as PeerSocket)[kPeer] = null;
        (kind === "h2c" ? servers.h2 : servers.http1).emit("connection", socket);
      } else {
        const body = "DP_MTLS_REQUIRED: this listener accepts mutual TLS only\n";
        socket.end(`HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: ${body.length}\r\nx-trellis-error: DP_MTLS_REQUIRED\r\n\r\n${body}`);
        socket.destroySoon();
      }
      return;
    }
    if (snap.tls === null) {
      socket.destroy();
      return;
    }
    const tlsSocket = new TLSSocket(socket, {
      isServer: true,
      secureContext: snap.tls.serverContext, // the context in force now: rotation applies to new connections
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ["h2", "http/1.1", TCP_ALPN],
    });
    const onHandshakeTimeout = () => tlsSocket.destroy();
    tlsSocket.setTimeout(handshakeTimeoutMs, onHandshakeTimeout);
    tlsSocket.on("error", () => tlsSocket.destroy());
    tlsSocket.once("secure", () => {
      tlsSocket.setTimeout(0);
      tlsSocket.off("timeout", onHandshakeTimeout);
      // A hand-made server TLSSocket does not enforce rejectUnauthorized (tls.Server does): check it here.
      // The peer must chain to the mesh CA and carry a SPIFFE ID of our trust domain.
      const peer = chainVerified(tlsSocket) ? certSpiffeId(tlsSocket.getPeerCertificate()) : null;
      if (peer === null || !peer.startsWith(`spiffe://${snap.config.identity.trustDomain}/`)) {
        tlsSocket.destroy();
        return;
      }
      (tlsSocket as PeerSocket)[kPeer] = peer;
      if (tlsSocket.alpnProtocol === TCP_ALPN) {
        acceptInboundTcp(core, tlsSocket);
        return;
      }
      (tlsSocket.alpnProtocol === "h2" ? servers.h2 : servers.http1).emit("connection", tlsSocket);
    });
  });
}

/**
 * Whether OpenSSL verified the client's chain against the CA. This is the check tls.Server makes (through the
 * same handle method) before it sets `authorized`; a TLSSocket we wrap ourselves has to make it explicitly.
 */
function chainVerified(s: TLSSocket): boolean {
  const handle = (s as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
  if (typeof handle?.verifyError !== "function") return false; // fail closed if Node's internals change
  return handle.verifyError() === null && s.getPeerCertificate()?.raw !== undefined;
}

function peerOf(req: IncomingMessage | Http2ServerRequest, isH2: boolean): string | null {
  const s = (isH2 ? (req as Http2ServerRequest).stream.session?.socket : req.socket) as PeerSocket | undefined;
  return s?.[kPeer] ?? null;
}

export function inboundHandler(core: ProxyCore) {
  return function onInboundRequest(req: IncomingMessage | Http2ServerRequest, res: ClientResponse, isH2: boolean): void {
    const start = performance.now();
    const snap = core.snapshot;
    const head = readHead(req, isH2);
    const ctx = newContext(start);
    ctx.peerId = peerOf(req, isH2);
    const span = nextSpan(head.traceparent);
    const ex = new Exchange(req, res, ctx, "inbound", span, core.accessLog, head.host);
    const ib = snap.inbound;
    if (ib === null) {
      ex.series = core.unknownSeries;
      ex.fail(new ProxyError("DP_NO_ROUTE", "this proxy accepts no inbound traffic (no inbound config)"));
      return;
    }
    ex.series = ib.seriesFor(ctx.peerId, head.sourceVersion);
    const headers = head.headers;
    headers.push("traceparent", span.header);
    if (ctx.peerId !== null) headers.push("x-trellis-peer", ctx.peerId);
    if (core.draining && !isH2) res.setHeader("connection", "close");
    const preq: ProxyRequest = { method: req.method!, authority: head.host, path: req.url ?? "/", headers, incoming: req, body: head.hasBody ? req : null };
    ib.handler(preq, ctx).then(
      (r) => ex.respond(r),
      (err) => ex.fail(err),
    );
  };
}
