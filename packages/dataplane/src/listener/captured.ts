// Connections the pod's iptables rules redirected to the outbound listener (transparent capture). The app
// dialled some address; the kernel kept it (SO_ORIGINAL_DST, capture/original-dst.ts):
//   - a service's VIP: a TCP service's connection goes to it like one on its local port; an HTTP service's is
//     served by the HTTP servers, each request routed by its Host when that names a service, else to the VIP's
//     service;
//   - any other address: HTTP/1 whose first request's Host names a service is routed like above; everything
//     else passes through to where it was dialled (`outboundTrafficPolicy: allowAny`), or is refused
//     (`registryOnly`), counted under destination `unknown` either way.
import net, { type Socket } from "node:net";
import type { Http2Server } from "node:http2";
import type { Dialled } from "../config/snapshot.js";
import { P_TCP } from "../telemetry/protocol.js";
import type { ProxyCore } from "./core.js";
import { sniff } from "./sniff.js";
import { splice, type TcpServices } from "./tcp.js";

/** The dialled address, kept on a captured socket for the request handler (see `dialledOf`). */
const kDialled = Symbol("trellis.dialled");
type CapturedSocket = Socket & { [kDialled]?: Dialled };

/** Where the connection a request came on was dialled to, when it was captured. */
export function dialledOf(req: { socket?: unknown }): Dialled | null {
  return (req.socket as CapturedSocket | undefined)?.[kDialled] ?? null;
}

/** The status a refused or failed captured connection is counted with (as Envoy's BlackHoleCluster does). */
export const UNKNOWN_DESTINATION_CODE = 502;

const REFUSAL_LOG_INTERVAL_MS = 10_000;
const refusalLogs = new WeakMap<ProxyCore, Map<string, number>>();

export interface CapturedServers {
  http1: { emit(event: "connection", socket: Socket): boolean };
  h2: Http2Server;
  tcp: () => TcpServices | null;
}

export function acceptCaptured(
  core: ProxyCore,
  socket: Socket,
  dialled: Dialled,
  servers: CapturedServers,
  headersTimeoutMs: number,
): void {
  const snap = core.snapshot;
  const svc = snap.atVip(dialled.address, dialled.port);
  if (svc !== null && svc.service.protocol === "tcp") {
    const tcp = servers.tcp();
    if (tcp === null) return void socket.destroy();
    // Half-open, as on a TCP service's own port: the app's FIN must not cut off the answer.
    socket.allowHalfOpen = true;
    return tcp.connect(svc, socket);
  }
  sniff(socket, headersTimeoutMs, (kind, first) => {
    const http =
      svc !== null
        ? kind !== "tls"
        : kind === "http1" && core.snapshot.named(firstHost(first) ?? "") !== null;
    if (http) {
      (socket as CapturedSocket)[kDialled] = dialled;
      if (kind === "h2c") servers.h2.emit("connection", socket);
      else servers.http1.emit("connection", socket);
      return;
    }
    passThrough(core, socket, dialled, kind);
  });
}

/** Sends a connection on to where it was dialled, or refuses it under `registryOnly`. */
function passThrough(core: ProxyCore, socket: Socket, dialled: Dialled, kind: string): void {
  const series = core.unknownSeries(P_TCP);
  if (core.snapshot.config.outboundTrafficPolicy === "registryOnly") {
    series.record(UNKNOWN_DESTINATION_CODE, 0);
    logRefused(core, dialled, kind);
    socket.destroy();
    return;
  }
  const start = performance.now();
  // The proxy's own connections are not captured (its group is exempt), so this one leaves the pod as dialled.
  const upstream = net.connect({
    host: dialled.address,
    port: dialled.port,
    noDelay: true,
    allowHalfOpen: true,
  });
  socket.allowHalfOpen = true;
  let connected = false;
  upstream.once("connect", () => (connected = true));
  upstream.once("close", () =>
    series.record(connected ? 0 : UNKNOWN_DESTINATION_CODE, performance.now() - start),
  );
  socket.resume();
  splice(socket, upstream);
}

function logRefused(core: ProxyCore, dialled: Dialled, kind: string): void {
  let logs = refusalLogs.get(core);
  if (logs === undefined) refusalLogs.set(core, (logs = new Map()));
  const key = `${dialled.address}:${dialled.port}`;
  const now = performance.now();
  const last = logs.get(key);
  if (last !== undefined && now - last < REFUSAL_LOG_INTERVAL_MS) return;
  if (logs.size > 1_000) logs.clear();
  logs.set(key, now);
  core.log(
    `trellis proxy: DP_UNKNOWN_DESTINATION: refused a ${kind === "tls" ? "TLS" : "TCP"} connection to ${key}, which is no service of the mesh (outboundTrafficPolicy: registryOnly)`,
  );
}

/** The Host of the first request in an HTTP/1 connection's first bytes; null when it is not there (yet). */
export function firstHost(first: Buffer): string | null {
  const end = first.indexOf("\r\n\r\n");
  const head = first.subarray(0, end < 0 ? first.length : end).toString("latin1");
  const m = /\r\nhost:[ \t]*([^\r\n]*?)[ \t]*(\r\n|$)/i.exec(head);
  return m && m[1] !== "" ? m[1]!.toLowerCase() : null;
}

/**
 * A connection the pod's rules redirected to the inbound listener from one of the app's TCP ports: a caller
 * outside the mesh (no sidecar, no certificate), let through to the app in permissive mode only. Returns false
 * for everything else (HTTP ports are served by the inbound listener as usual: permissive or 403).
 */
export function acceptCapturedInbound(core: ProxyCore, socket: Socket, dialled: Dialled): boolean {
  const ib = core.snapshot.inbound;
  if (ib === null || !ib.tcpPorts.includes(dialled.port)) return false;
  const series = ib.seriesFor(null, "", P_TCP);
  if (ib.mtlsMode !== "permissive") {
    series.record(403, 0);
    socket.destroy();
    return true;
  }
  socket.allowHalfOpen = true;
  const app = net.connect({ host: ib.appAddress, port: dialled.port, noDelay: true, allowHalfOpen: true });
  const start = performance.now();
  app.once("close", () => series.record(0, performance.now() - start));
  splice(socket, app);
  return true;
}
