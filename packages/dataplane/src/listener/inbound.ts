// The inbound listener: other sidecars reach this workload here over mTLS. One port accepts TLS and, in
// permissive mode, plain text; the caller's SPIFFE ID comes from its verified certificate, never from a header.
// Requests then run the inbound stack (authorization, rate limit, timeout) and go to the local app.
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { Socket } from "node:net";
import tls, { type TLSSocket } from "node:tls";
import { constants } from "node:crypto";
import type { TlsState } from "../tls/material.js";
import { ProxyError } from "../core/errors.js";
import type { ClientResponse } from "../core/respond.js";
import { newContext, type ProxyRequest } from "../core/types.js";
import { nextSpan } from "../telemetry/trace.js";
import { requestProtocol } from "../telemetry/protocol.js";
import { certSpiffeId, isRevoked, type RevokedSerials } from "../tls/identity.js";
import { Exchange, guardBody, readHead, type RawClient } from "./edge.js";
import type { ProxyCore } from "./core.js";
import { sniff } from "./sniff.js";
import { splitAbsolute } from "./target.js";
import { acceptInboundTcp, TCP_ALPN } from "./tcp.js";

/** The verified peer identity, stored on the TLS socket at handshake time. */
const kPeer = Symbol("trellis.peer");
type PeerSocket = Socket & { [kPeer]?: string | null };

export interface InboundServers {
  http1: { emit(event: "connection", socket: Socket): boolean };
  h2: { emit(event: "connection", socket: Socket): boolean };
  /** The TLS server for the material in force. */
  tls(material: TlsState): { emit(event: "connection", socket: Socket): boolean };
}

/** Accepts one raw connection on the inbound port. */
export function acceptInbound(
  core: ProxyCore,
  servers: InboundServers,
  socket: Socket,
  handshakeTimeoutMs: number,
): void {
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
        socket.end(
          `HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: ${body.length}\r\nx-trellis-error: DP_MTLS_REQUIRED\r\n\r\n${body}`,
        );
        socket.destroySoon();
      }
      return;
    }
    if (snap.tls === null) {
      socket.destroy();
      return;
    }
    servers.tls(snap.tls).emit("connection", socket);
  });
}

/**
 * A tls.Server that never listens: raw connections are handed to it after sniffing. Using Node's own server
 * (rather than wrapping sockets by hand) gets client-certificate enforcement, ALPN and the socket state that
 * HTTP/2 sessions expect. Rotation: a new certificate replaces the context in place (`setSecureContext`).
 */
export class InboundTls {
  private server: tls.Server | null = null;
  private fingerprint = "";
  /** Established mTLS connections: closed when a new config revokes the certificate their peer presented. */
  private readonly live = new Set<TLSSocket>();
  constructor(
    private readonly core: ProxyCore,
    private readonly servers: Omit<InboundServers, "tls">,
    private readonly handshakeTimeoutMs: number,
  ) {}

  forMaterial(material: TlsState): tls.Server {
    const options = {
      cert: material.cert,
      key: material.key,
      ca: material.ca,
      minVersion: "TLSv1.2" as const,
      secureOptions: constants.SSL_OP_NO_TICKET,
    };
    if (this.server === null) {
      this.server = tls.createServer({
        ...options,
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: ["h2", "http/1.1", TCP_ALPN],
        handshakeTimeout: this.handshakeTimeoutMs,
      });
      this.server.on("secureConnection", (s: TLSSocket) => this.onSecure(s));
      this.server.on("tlsClientError", (_err: Error, s: TLSSocket) => s.destroy());
    } else if (this.fingerprint !== material.fingerprint) {
      this.server.setSecureContext(options);
    }
    this.fingerprint = material.fingerprint;
    return this.server;
  }

  private onSecure(tlsSocket: TLSSocket): void {
    tlsSocket.on("error", () => tlsSocket.destroy());
    // The chain was verified by the server (rejectUnauthorized); the peer must also carry a SPIFFE ID of our
    // trust domain.
    const cert = tlsSocket.authorized ? tlsSocket.getPeerCertificate() : null;
    const peer = cert ? certSpiffeId(cert) : null;
    if (peer === null || !peer.startsWith(`spiffe://${this.core.snapshot.config.identity.trustDomain}/`)) {
      tlsSocket.destroy();
      return;
    }
    // The CA signed it, but it was revoked (its proxy was evicted from the mesh).
    if (isRevoked(cert, this.core.snapshot.revoked)) {
      this.core.metrics.add("trellis_revoked_peer_refused_total");
      tlsSocket.destroy();
      return;
    }
    this.live.add(tlsSocket);
    tlsSocket.once("close", () => this.live.delete(tlsSocket));
    (tlsSocket as PeerSocket)[kPeer] = peer;
    if (tlsSocket.alpnProtocol === TCP_ALPN) acceptInboundTcp(this.core, tlsSocket, peer);
    else if (tlsSocket.alpnProtocol === "h2") this.servers.h2.emit("connection", tlsSocket);
    else this.servers.http1.emit("connection", tlsSocket);
  }

  /** Closes the connections of peers whose certificate is now revoked (requests on them fail). */
  dropRevoked(revoked: RevokedSerials): void {
    if (revoked.size === 0) return;
    for (const s of this.live) {
      if (isRevoked(s.getPeerCertificate(), revoked)) {
        this.core.metrics.add("trellis_revoked_peer_refused_total");
        s.destroy();
      }
    }
  }
}

function peerOf(req: IncomingMessage | Http2ServerRequest, isH2: boolean): string | null {
  const s = (isH2 ? (req as Http2ServerRequest).stream.session?.socket : req.socket) as
    PeerSocket | undefined;
  return s?.[kPeer] ?? null;
}

export function inboundHandler(core: ProxyCore) {
  return function onInboundRequest(
    req: IncomingMessage | Http2ServerRequest,
    res: ClientResponse | null,
    isH2: boolean,
    raw?: RawClient,
  ): void {
    const start = performance.now();
    const snap = core.snapshot;
    const head = readHead(req, isH2);
    const ctx = newContext(start, snap.config.limits.streamIdleTimeoutMs);
    ctx.peerId = peerOf(req, isH2);
    const span = nextSpan(head.traceparent, core.sampler);
    const ex = new Exchange(req, res, ctx, "inbound", span, core.accessLog, core.spans, head.host);
    if (raw !== undefined) ex.raw = raw;
    const protocol = requestProtocol(req, isH2, raw?.protocol ?? null);
    ex.protocol = protocol;
    const ib = snap.inbound;
    if (ib === null) {
      ex.series = core.unknownSeries(protocol);
      ex.fail(new ProxyError("DP_NO_ROUTE", "this proxy accepts no inbound traffic (no inbound config)"));
      return;
    }
    ex.series = ib.seriesFor(ctx.peerId, head.sourceVersion, protocol);
    const headers = head.headers;
    headers.push("traceparent", span.header);
    if (ctx.peerId !== null) headers.push("x-trellis-peer", ctx.peerId);
    if (core.draining && res !== null && !isH2) res.setHeader("connection", "close");
    if (head.hasBody) guardBody(req, snap.config.limits.requestTimeoutMs);
    ex.armGrpcDeadline(head.grpcTimeout);
    const url = req.url ?? "/";
    const preq: ProxyRequest = {
      method: req.method!,
      authority: head.host,
      // An absolute-form target is authorized and forwarded by its path (http1-guard.ts checked its authority).
      path: url.charCodeAt(0) === 47 /* / */ ? url : (splitAbsolute(url)?.path ?? url),
      headers,
      incoming: req,
      body: head.hasBody ? req : null,
      h2: isH2,
      upgrade: raw?.protocol ?? null,
    };
    ex.path = preq.path;
    ib.handler(preq, ctx).then(
      (r) => ex.respond(r),
      (err) => ex.fail(err),
    );
  };
}
