// Raw TCP passthrough for non-HTTP services. Outbound: one local port per `tcp` service; each connection goes
// to an endpoint chosen by the destination's balancer, over mTLS to the peer sidecar, which learns the target
// app port from the TLS server name (`port-<n>.tcp.trellis`) and only forwards to ports it lists in
// `inbound.tcpPorts`. Bytes are piped both ways with backpressure; nothing is parsed. AccessPolicies apply
// by caller identity when the connection is accepted (layers/authz.ts, `tcpAuthz`).
import net, { type Socket } from "node:net";
import tls, { type TLSSocket } from "node:tls";
import { spiffeId } from "@trellis/contracts/proxy";
import type { ProxyCore } from "./core.js";
import type { Snapshot, CompiledService } from "../config/snapshot.js";
import { certSpiffeId, isRevoked } from "../tls/identity.js";
import { P_TCP } from "../telemetry/protocol.js";
import { tcpSpanOf } from "../telemetry/spans.js";

export const TCP_ALPN = "trellis-tcp";
const SNI_RE = /^port-(\d{1,5})\.tcp\.trellis$/;

export function tcpServerName(port: number): string {
  return `port-${port}.tcp.trellis`;
}

/** Joins two sockets; either side closing or failing closes the other. */
/**
 * Pipes two connections into each other until both directions are done. Half-closes carry over: when one side
 * ends its sending (FIN), the other is ended the same way and can still answer (both sockets must be
 * `allowHalfOpen`). An error on either, or either closing, ends both.
 */
export function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const close = () => {
    a.destroy();
    b.destroy();
  };
  a.once("error", close);
  b.once("error", close);
  a.once("close", close);
  b.once("close", close);
}

export interface TcpServices {
  /** Passes a client connection to the service (a captured connection to its VIP, or its local port). */
  connect(svc: CompiledService, client: Socket): void;
  check(snap: Snapshot): void;
  update(snap: Snapshot): void;
  close(): void;
}

/**
 * What telemetry records for a connection refused by AccessPolicies: 403, the status HTTP requests refused by
 * the same rules get (`DP_FORBIDDEN`), under protocol `tcp`. A connection that was let through records 0.
 */
export const TCP_DENIED_CODE = 403;

/** Refusals are logged at most once per caller and port in this interval; the line counts those skipped. */
const DENY_LOG_INTERVAL_MS = 10_000;
const denyLogs = new WeakMap<ProxyCore, Map<string, { at: number; skipped: number }>>();

function logDenied(core: ProxyCore, peerId: string | null, port: number, reason: string): void {
  let denyLogged = denyLogs.get(core);
  if (denyLogged === undefined) {
    denyLogged = new Map();
    denyLogs.set(core, denyLogged);
  }
  const now = performance.now();
  const key = `${peerId ?? ""}|${port}`;
  const last = denyLogged.get(key);
  if (last !== undefined && now - last.at < DENY_LOG_INTERVAL_MS) {
    last.skipped++;
    return;
  }
  if (denyLogged.size > 1_000) denyLogged.clear();
  denyLogged.set(key, { at: now, skipped: 0 });
  const more = last && last.skipped > 0 ? ` (${last.skipped} more since the last line)` : "";
  // Only the caller's identity, the port and which rule kind refused it: no certificate, no payload.
  core.log(`trellis proxy: DP_FORBIDDEN: tcp connection to app port ${port} refused: ${reason}${more}`);
}

/** Inbound side: a verified peer (`peerId`) asked for raw TCP to a local app port. */
export function acceptInboundTcp(core: ProxyCore, tlsSocket: TLSSocket, peerId: string): void {
  const ib = core.snapshot.inbound;
  const m = SNI_RE.exec((tlsSocket as TLSSocket & { servername?: string | false }).servername || "");
  const port = m ? Number(m[1]) : -1;
  if (ib === null || !ib.tcpPorts.includes(port)) {
    tlsSocket.destroy();
    return;
  }
  // AccessPolicies, decided on the caller's verified identity before the app is even dialed: a refused
  // connection is closed right after the handshake and no byte of it reaches the app.
  const refused = ib.authorizeTcp(peerId);
  if (refused !== null) {
    tlsSocket.destroy();
    ib.seriesFor(peerId, "", P_TCP).record(TCP_DENIED_CODE, 0);
    logDenied(core, peerId, port, refused);
    core.accessLog?.(
      JSON.stringify({
        time: new Date().toISOString(),
        direction: "inbound",
        protocol: "tcp",
        port,
        status: TCP_DENIED_CODE,
        error: "DP_FORBIDDEN",
        durationMs: 0,
        peer: peerId,
      }),
    );
    return;
  }
  // Half-open both ways, so that a caller's FIN reaches the app without cutting off its answer.
  tlsSocket.allowHalfOpen = true;
  const app = net.connect({ host: ib.appAddress, port, noDelay: true, allowHalfOpen: true });
  splice(tlsSocket, app);
  // One "request" (code 0) per connection, for as long as it was open. The caller's version is not known here.
  const series = ib.seriesFor(peerId, "", P_TCP);
  const start = performance.now();
  const spans = core.spans;
  tlsSocket.once("close", () => {
    const end = performance.now();
    series.record(0, end - start);
    if (spans === null) return;
    const span = tcpSpanOf({
      direction: "inbound",
      series,
      startMs: start,
      endMs: end,
      peerAddress: tlsSocket.remoteAddress,
      port,
      bytesIn: tlsSocket.bytesRead,
      bytesOut: tlsSocket.bytesWritten,
      error: null,
      sampler: core.sampler,
    });
    if (span !== null) spans.record(span);
  });
}

export async function startTcpServices(core: ProxyCore, track: (s: Socket) => void): Promise<TcpServices> {
  const servers = new Map<string, net.Server>(); // key: `${address}:${port}`
  const host = "127.0.0.1";
  let closed = false;

  const connect = (svc: CompiledService, client: Socket) => {
    const snap = core.snapshot;
    const dest = svc.destination;
    const ep = dest.pickTcp(performance.now());
    if (ep === null) {
      client.destroy();
      return;
    }
    const [epHost, epPortS] = splitHostPort(ep.address);
    const epPort = Number(epPortS);
    const target = svc.service.targetPort ?? svc.service.port;
    let upstream: Socket;
    if (svc.service.mtls && snap.tls !== null) {
      const expected = spiffeId(snap.config.identity.trustDomain, svc.service.namespace, svc.service.name);
      upstream = tls.connect({
        host: epHost,
        port: epPort,
        cert: snap.tls.cert,
        key: snap.tls.key,
        ca: snap.tls.ca,
        servername: tcpServerName(target),
        ALPNProtocols: [TCP_ALPN],
        checkServerIdentity: (_h, cert) =>
          isRevoked(cert, snap.revoked)
            ? new Error(`peer presents revoked certificate ${cert.serialNumber}`)
            : certSpiffeId(cert) === expected
              ? undefined
              : new Error(`peer is not ${expected}`),
      });
    } else {
      upstream = net.connect({ host: epHost, port: epPort, noDelay: true });
    }
    // Half-open, like the client's side (the server's option): a FIN either way leaves the other way open.
    upstream.allowHalfOpen = true;
    ep.active++;
    ep.requests++;
    const series = dest.seriesFor(ep.version, P_TCP);
    const start = performance.now();
    let connected = false;
    upstream.once(svc.service.mtls ? "secureConnect" : "connect", () => {
      connected = true;
      if (dest.outlier) dest.outlier.onResponse(ep, 200, performance.now());
    });
    const spans = core.spans;
    upstream.once("close", () => {
      const end = performance.now();
      series.record(0, end - start);
      ep.active--;
      if (!connected) {
        ep.failures++;
        if (dest.outlier) dest.outlier.onGatewayFailure(ep, performance.now());
      }
      if (spans === null) return;
      const span = tcpSpanOf({
        direction: "outbound",
        series,
        startMs: start,
        endMs: end,
        peerAddress: ep.address,
        port: svc.service.port ?? target,
        bytesIn: client.bytesRead,
        bytesOut: client.bytesWritten,
        error: connected ? null : "DP_UPSTREAM_CONNECT_FAILURE",
        sampler: core.sampler,
      });
      if (span !== null) spans.record(span);
    });
    splice(client, upstream);
  };

  const sync = async (snap: Snapshot) => {
    const want = new Map<string, CompiledService>();
    for (const s of snap.services) if (s.service.protocol === "tcp") want.set(`${host}:${s.service.port}`, s);
    for (const [key, server] of servers) {
      if (!want.has(key)) {
        server.close();
        servers.delete(key);
      }
    }
    for (const [key, svc] of want) {
      const existing = servers.get(key);
      if (existing) {
        (existing as net.Server & { svc: CompiledService }).svc = svc;
        continue;
      }
      const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
        track(socket);
        connect((server as net.Server & { svc: CompiledService }).svc, socket);
      }) as net.Server & { svc: CompiledService };
      server.svc = svc;
      servers.set(key, server);
      await new Promise<void>((resolve) => {
        server.once("error", (err) => {
          process.stderr.write(
            `trellis proxy: cannot open tcp port for ${svc.service.name} on ${key}: ${err.message}\n`,
          );
          servers.delete(key);
          resolve();
        });
        server.listen({ host, port: svc.service.port }, () => resolve());
      });
    }
  };

  await sync(core.snapshot);
  return {
    connect,
    check() {},
    update(snap) {
      if (!closed) void sync(snap);
    },
    close() {
      closed = true;
      for (const s of servers.values()) s.close();
      servers.clear();
    },
  };
}

function splitHostPort(a: string): [string, string] {
  const i = a.lastIndexOf(":");
  let h = a.slice(0, i);
  if (h.startsWith("[")) h = h.slice(1, -1);
  return [h, a.slice(i + 1)];
}
