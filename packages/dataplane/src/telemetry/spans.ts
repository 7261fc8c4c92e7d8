// One request's span, from what the edge knows when its body ends: OpenTelemetry's semantic conventions for
// HTTP and gRPC (stable HTTP names: `http.request.method`, `http.response.status_code`, `url.path`,
// `server.address`, …; RPC: `rpc.system`, `rpc.service`, `rpc.method`, `rpc.grpc.status_code`) and the mesh's
// own under `trellis.*`: which workload called which, over mTLS or not, the caller's SPIFFE ID, the attempts,
// and the Trellis error code when the proxy answered itself. Built only for sampled traces.
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { RequestContext } from "../core/types.js";
import type { RequestSeries } from "./metrics.js";
import {
  SPAN_KIND_CLIENT,
  SPAN_KIND_SERVER,
  STATUS_ERROR,
  STATUS_UNSET,
  type AttributeValue,
  type SpanRecord,
} from "@trellis/contracts/otlp";
import { P_GRPC, P_HTTP2, protocolName } from "./protocol.js";
import { nextSpan, type Span } from "./trace.js";

export interface SpanFacts {
  span: Span;
  direction: "inbound" | "outbound";
  req: IncomingMessage | Http2ServerRequest;
  authority: string;
  /** Index into TRAFFIC_PROTOCOLS. */
  protocol: number;
  /** The HTTP status the client saw (a cut body: the status it was recorded as). */
  status: number;
  /** gRPC only: the `grpc-status` the client saw, or null. */
  grpcStatus: string | null;
  errorCode: string | null;
  series: RequestSeries | null;
  ctx: RequestContext;
  /** performance.now() when the response body ended (a WebSocket: when its session's connection closed). */
  endMs: number;
  /** An upgraded connection's session (WebSocket): the bytes it carried, from the client's side. */
  session?: { bytesIn: number; bytesOut: number };
}

/** performance.now() milliseconds as Unix nanoseconds (integer ms and the fraction apart: a double would round). */
function unixNano(ms: number): bigint {
  const t = performance.timeOrigin + ms;
  const whole = Math.floor(t);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((t - whole) * 1_000_000));
}

/** gRPC codes that are the server's fault (semantic conventions: the rest are the caller's, unset on a server span). */
const GRPC_SERVER_ERRORS = new Set([2, 4, 12, 13, 14, 15]);

export function spanOf(f: SpanFacts): SpanRecord {
  const server = f.direction === "inbound";
  const method = f.req.method ?? "GET";
  const url = f.req.url ?? "/";
  // The query is left out: it often carries what should not be in a trace store (tokens, personal data).
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  const attrs: [string, AttributeValue][] = [["http.request.method", method]];
  if (f.status > 0) attrs.push(["http.response.status_code", f.status]);
  attrs.push(["url.path", path], ["network.protocol.name", "http"]);
  attrs.push([
    "network.protocol.version",
    f.protocol === P_HTTP2 || f.protocol === P_GRPC ? "2" : (f.req.httpVersion ?? "1.1"),
  ]);
  const colon = f.authority.lastIndexOf(":");
  const hasPort = colon > 0 && !f.authority.endsWith("]");
  if (f.authority !== "") attrs.push(["server.address", hasPort ? f.authority.slice(0, colon) : f.authority]);
  if (hasPort) {
    const port = Number(f.authority.slice(colon + 1));
    if (Number.isInteger(port)) attrs.push(["server.port", port]);
  }
  if (server) {
    const peer = f.req.socket?.remoteAddress;
    if (peer) attrs.push(["client.address", peer]);
  } else {
    if (f.ctx.upstreamAddress !== "") attrs.push(["network.peer.address", f.ctx.upstreamAddress]);
    if (f.ctx.attempts > 1) attrs.push(["http.request.resend_count", f.ctx.attempts - 1]);
  }

  let name: string;
  let grpcCode: number | null = null;
  if (f.protocol === P_GRPC) {
    // `/package.Service/Method`: the span is named `package.Service/Method`, as gRPC's own instrumentation does.
    const slash = path.lastIndexOf("/");
    const service = path.slice(1, slash);
    const rpcMethod = path.slice(slash + 1);
    name = slash > 0 ? `${service}/${rpcMethod}` : method;
    attrs.push(["rpc.system", "grpc"], ["rpc.service", service], ["rpc.method", rpcMethod]);
    if (f.grpcStatus !== null && /^\d{1,2}$/.test(f.grpcStatus)) {
      grpcCode = Number(f.grpcStatus);
      attrs.push(["rpc.grpc.status_code", grpcCode]);
    }
  } else {
    const dest = f.series?.destination;
    name =
      dest !== undefined && dest.service !== "unknown"
        ? `${method} ${dest.service}.${dest.namespace}`
        : `${method} ${f.authority || "unknown"}`;
  }

  attrs.push(["trellis.direction", f.direction], ["trellis.protocol", protocolName(f.protocol)]);
  const s = f.series;
  if (s !== null) {
    attrs.push(
      ["trellis.source.namespace", s.source.namespace],
      ["trellis.source.service", s.source.service],
      ["trellis.source.version", s.source.version],
      ["trellis.destination.namespace", s.destination.namespace],
      ["trellis.destination.service", s.destination.service],
      ["trellis.destination.version", f.ctx.upstreamVersion || s.destination.version],
      ["trellis.mtls", s.mtls],
    );
  }
  if (server && f.ctx.peerId !== null) attrs.push(["trellis.source.principal", f.ctx.peerId]);
  attrs.push(["trellis.attempts", f.ctx.attempts]);
  if (f.errorCode !== null) attrs.push(["trellis.error_code", f.errorCode]);
  if (f.session)
    attrs.push(
      ["trellis.session.bytes_received", f.session.bytesIn],
      ["trellis.session.bytes_sent", f.session.bytesOut],
    );

  // Status: HTTP 5xx on a server span, 4xx and 5xx (or no answer) on a client span; gRPC by its code; and
  // whatever the proxy answered itself with an error code.
  let error: boolean;
  if (grpcCode !== null) error = server ? GRPC_SERVER_ERRORS.has(grpcCode) : grpcCode !== 0;
  else error = f.status === 0 || f.status >= (server ? 500 : 400);
  if (f.errorCode !== null) error = true;
  return {
    traceId: f.span.traceId,
    spanId: f.span.spanId,
    parentSpanId: f.span.parentId,
    name,
    kind: server ? SPAN_KIND_SERVER : SPAN_KIND_CLIENT,
    startUnixNano: unixNano(f.ctx.start),
    endUnixNano: unixNano(f.endMs),
    attributes: attrs,
    status: error ? { code: STATUS_ERROR, message: f.errorCode ?? "" } : { code: STATUS_UNSET },
  };
}

export interface TcpSpanFacts {
  direction: "inbound" | "outbound";
  /** The series the connection was counted in: who called whom, over mTLS or not. */
  series: RequestSeries;
  /** performance.now() when the connection was accepted, and when it closed. */
  startMs: number;
  endMs: number;
  /** The other end of the proxy's own connection: the caller (inbound) or the endpoint (outbound). */
  peerAddress: string | undefined;
  /** The port the connection was for (the service's, outbound; the app's, inbound). */
  port: number;
  /** Bytes from and to the client side of the connection. */
  bytesIn: number;
  bytesOut: number;
  /** Why it failed (the endpoint could not be reached), or null. */
  error: string | null;
  sampler: (traceId: string) => boolean;
}

/**
 * One TCP connection's span, when its trace is sampled: a trace of its own (nothing in a byte stream carries a
 * caller's context), a client span outbound and a server span inbound, lasting as long as the connection.
 */
export function tcpSpanOf(f: TcpSpanFacts): SpanRecord | null {
  const span = nextSpan(undefined, f.sampler);
  if (!span.sampled) return null;
  const server = f.direction === "inbound";
  const s = f.series;
  const attrs: [string, AttributeValue][] = [
    ["network.transport", "tcp"],
    ["server.port", f.port],
    ["trellis.direction", f.direction],
    ["trellis.protocol", "tcp"],
    ["trellis.source.namespace", s.source.namespace],
    ["trellis.source.service", s.source.service],
    ["trellis.source.version", s.source.version],
    ["trellis.destination.namespace", s.destination.namespace],
    ["trellis.destination.service", s.destination.service],
    ["trellis.destination.version", s.destination.version],
    ["trellis.mtls", s.mtls],
    ["trellis.session.bytes_received", f.bytesIn],
    ["trellis.session.bytes_sent", f.bytesOut],
  ];
  if (f.peerAddress) attrs.push([server ? "client.address" : "network.peer.address", f.peerAddress]);
  if (f.error !== null) attrs.push(["trellis.error_code", f.error]);
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: null,
    name: server ? `TCP :${f.port}` : `TCP ${s.destination.service}.${s.destination.namespace}`,
    kind: server ? SPAN_KIND_SERVER : SPAN_KIND_CLIENT,
    startUnixNano: unixNano(f.startMs),
    endUnixNano: unixNano(f.endMs),
    attributes: attrs,
    status: f.error !== null ? { code: STATUS_ERROR, message: f.error } : { code: STATUS_UNSET },
  };
}
