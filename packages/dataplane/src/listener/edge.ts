// What both HTTP listeners do around a stack: read the request head once (one pass over the raw headers),
// start the span, run the stack, write the result or the error, and record telemetry when the body ends.
import type { IncomingMessage, ServerResponse } from "node:http";
import { HOP_BY_HOP } from "../core/headers.js";
import type { Http2ServerRequest } from "node:http2";
import { ClientClosedError, type BodyListener, type ResponseBody } from "../core/body.js";
import {
  errorResponse,
  grpcErrorResponse,
  toProxyError,
  writeResponse,
  type ClientResponse,
} from "../core/respond.js";
import type { ProxyResponse, RequestContext } from "../core/types.js";
import type { RequestSeries } from "../telemetry/metrics.js";
import { grpcOutcome, P_GRPC, P_HTTP1, protocolName } from "../telemetry/protocol.js";
import type { Span } from "../telemetry/trace.js";
import type { SpanExporter } from "../telemetry/span-exporter.js";
import { spanOf } from "../telemetry/spans.js";
import { constants as http2constants, type Http2ServerResponse } from "node:http2";
import { ProxyError } from "../core/errors.js";
import type { Socket } from "node:net";
import { splice } from "./tcp.js";

function rawHead(status: number, statusText: string, headers: string[], extra: string): string {
  let head = `HTTP/1.1 ${status} ${statusText}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}${extra}\r\n`;
}

/**
 * Answers an Upgrade request on the raw socket: joins the two connections after a 101, else a plain response.
 * `onJoined` is told before the exchange ends (its body ends at once) that a session (WebSocket) now runs on them.
 */
function respondRaw(raw: RawClient, r: ProxyResponse, onJoined: () => void): void {
  const up = r.upgraded;
  if (up !== undefined && r.status === 101) {
    raw.socket.write(
      rawHead(101, "Switching Protocols", r.headers, `connection: Upgrade\r\nupgrade: ${raw.protocol}\r\n`),
    );
    if (raw.head.length > 0) up.write(raw.head);
    splice(raw.socket, up);
    onJoined();
    r.body.pipeTo(NULL_SINK); // ends at once: the exchange is recorded as a 101
    return;
  }
  up?.destroy();
  // Not upgraded: answer once and close (the body is delimited by the close).
  raw.socket.write(rawHead(r.status, "Upgrade Refused", r.headers, "connection: close\r\n"));
  r.body.pipeTo(raw.socket as unknown as ClientResponse);
}

const NULL_SINK = {
  write: () => true,
  end: () => {},
  once: () => {},
  destroy: () => {},
  addTrailers: () => {},
} as unknown as ClientResponse;

/** `grpc-status` from a trailers-only response's headers, else from the trailers; null when never sent. */
function grpcStatus(headers: string[], body: ResponseBody): string | null {
  for (let i = 0; i < headers.length; i += 2)
    if (headers[i]!.toLowerCase() === "grpc-status") return headers[i + 1]!;
  return body.trailer("grpc-status");
}

/** Facts gathered from the request head in the same pass that copies the headers to forward. */
export interface RequestHead {
  headers: string[];
  host: string;
  traceparent: string | undefined;
  hasBody: boolean;
  /** `x-trellis-source-version` sent by the calling sidecar (stripped from what is forwarded). */
  sourceVersion: string;
  /** `grpc-timeout` as sent (forwarded too), or undefined. */
  grpcTimeout: string | undefined;
}

export function readHead(req: IncomingMessage | Http2ServerRequest, isH2: boolean): RequestHead {
  const raw = req.rawHeaders;
  const out: string[] = [];
  let host = "";
  let traceparent: string | undefined;
  let hasBody = false;
  let sourceVersion = "";
  let grpcTimeout: string | undefined;
  let connection: string | null = null;
  let te: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const c = name.charCodeAt(0);
    if (c === 58 /* : */) {
      if (name === ":authority") host = value;
      continue;
    }
    const lower = name.toLowerCase();
    switch (lower) {
      case "host":
        if (host === "") host = value;
        continue;
      case "content-length":
        if (value !== "0") hasBody = true;
        break;
      case "transfer-encoding":
        hasBody = true;
        continue;
      case "traceparent":
        traceparent = value;
        continue; // replaced by this hop's span
      case "x-trellis-source-version":
        sourceVersion = value;
        continue;
      case "x-trellis-peer":
        continue; // only the inbound sidecar may set it, from the verified certificate
      case "connection":
        connection = value.toLowerCase();
        continue;
      case "te":
        te = value;
        continue;
      case "grpc-timeout":
        grpcTimeout = value;
        break;
    }
    // `host` too: the authority is sent separately.
    if (HOP_BY_HOP.has(lower) || lower === "host") continue;
    out.push(name, value);
  }
  // gRPC needs `te: trailers` end to end; any other TE is hop-by-hop.
  if (te !== null && te.toLowerCase() === "trailers") out.push("te", "trailers");
  // HTTP/2 needs no content-length: a request has a body unless its HEADERS frame ended the stream.
  if (isH2 && !hasBody) hasBody = !(req as Http2ServerRequest).stream.endAfterHeaders;
  return {
    headers:
      connection === null || connection === "close" || connection === "keep-alive"
        ? out
        : dropNamed(out, connection),
    host,
    traceparent,
    hasBody,
    sourceVersion,
    grpcTimeout,
  };
}

function dropNamed(list: string[], tokens: string): string[] {
  const names = new Set(tokens.split(",").map((t) => t.trim()));
  const out: string[] = [];
  for (let i = 0; i < list.length; i += 2)
    if (!names.has(list[i]!.toLowerCase())) out.push(list[i]!, list[i + 1]!);
  return out;
}

/**
 * Bounds the time a client may take to send its whole request body (`limits.requestTimeoutMs`). Node's own
 * requestTimeout only watches sockets its listen() accepted, and ours are handed over. Armed only for requests
 * with a body, so body-less requests pay nothing.
 */
export function guardBody(req: IncomingMessage | Http2ServerRequest, ms: number): void {
  if (ms <= 0 || req.complete) return;
  const timer = setTimeout(() => {
    if (!req.complete) req.destroy(new Error("request body not received in time"));
  }, ms);
  timer.unref();
  req.once("end", () => clearTimeout(timer));
  req.once("close", () => clearTimeout(timer));
}

export interface AccessLogSink {
  (line: string): void;
}

/** The client's raw connection for an HTTP/1.1 Upgrade (WebSocket): there is no ServerResponse then. */
export interface RawClient {
  socket: Socket;
  /** Bytes the client sent after the request head (already read by Node). */
  head: Buffer;
  protocol: string;
}

/**
 * A `grpc-timeout` value (gRPC over HTTP/2: up to 8 digits and a unit H, M, S, m, u or n) in milliseconds,
 * or -1 when absent or malformed (then no deadline is enforced, as gRPC servers do).
 */
export function grpcTimeoutMs(value: string | undefined): number {
  if (value === undefined || !/^\d{1,8}[HMSmun]$/.test(value)) return -1;
  const n = Number(value.slice(0, -1));
  switch (value.charCodeAt(value.length - 1)) {
    case 72 /* H */:
      return n * 3_600_000;
    case 77 /* M */:
      return n * 60_000;
    case 83 /* S */:
      return n * 1000;
    case 109 /* m */:
      return n;
    case 117 /* u */:
      return n / 1000;
    default: // n (the pattern allows nothing else)
      return n / 1_000_000;
  }
}

/**
 * How a response body that did not arrive whole is recorded: never as the status its head carried, since the
 * client saw an error (a reset stream, a cut connection). For gRPC, as the status the client then sees.
 */
interface Cut {
  http: number;
  grpcStatus: string;
  log: string;
}
const CUT_BY_DEADLINE: Cut = { http: 504, grpcStatus: "4", log: "deadline_exceeded" }; // the caller's grpc-timeout
const CUT_BY_CLIENT: Cut = { http: 499, grpcStatus: "1", log: "client_closed" }; // the client's doing (CANCELLED)
const CUT_UPSTREAM: Cut = { http: 502, grpcStatus: "13", log: "upstream_body_interrupted" }; // a reset: INTERNAL

/** Per-request state at the edge. Its `bodyDone` is called when the response ends (or fails). */
export class Exchange implements BodyListener {
  status = 0;
  errorCode: string | null = null;
  series: RequestSeries | null = null;
  /** Inbound: the path authorization matched, for the series' access observations (telemetry/access.ts). */
  path = "";
  raw: RawClient | null = null;
  /** An upgrade answered 101: the client's connection now carries a session (WebSocket) until it closes. */
  private joined = false;
  /** Index into TRAFFIC_PROTOCOLS, set by the listener from the request head (telemetry/protocol.ts). */
  protocol = P_HTTP1;
  /** gRPC only: the response, whose `grpc-status` (in headers or trailers) decides what is recorded. */
  private grpcResponse: ProxyResponse | null = null;
  /** A response has been written (or the deadline answered for the stack). */
  private responded = false;
  /** gRPC only: the caller's deadline (`grpc-timeout`), enforced here for the whole call. */
  private deadlineTimer: NodeJS.Timeout | null = null;
  private deadlinePassed = false;
  constructor(
    readonly req: IncomingMessage | Http2ServerRequest,
    readonly res: ClientResponse | null,
    readonly ctx: RequestContext,
    readonly direction: "inbound" | "outbound",
    readonly span: Span | null,
    readonly accessLog: AccessLogSink | null,
    /** Where this exchange's span goes when its trace is sampled; null: tracing is off. */
    readonly spans: SpanExporter | null,
    readonly authority: string,
  ) {}

  /**
   * Enforces a gRPC caller's deadline over the whole call, as its own client would: past it, a call with no
   * response yet is answered DEADLINE_EXCEEDED; one already streaming is cut. Either way the upstream stream
   * is cancelled (RST_STREAM CANCEL) once the client's stream closes. False when there is none to enforce.
   */
  armGrpcDeadline(grpcTimeout: string | undefined): boolean {
    if (grpcTimeout === undefined || this.protocol !== P_GRPC) return false;
    const ms = grpcTimeoutMs(grpcTimeout);
    if (ms < 0) return false;
    this.deadlineTimer = setTimeout(onDeadline, Math.max(1, Math.ceil(ms)), this, ms);
    this.deadlineTimer.unref();
    return true;
  }

  deadline(ms: number): void {
    this.deadlineTimer = null;
    this.deadlinePassed = true;
    const res = this.res as Http2ServerResponse | null;
    if (!this.responded) {
      this.fail(
        new ProxyError("DP_UPSTREAM_TIMEOUT", `the caller's deadline (grpc-timeout ${ms} ms) passed`),
      );
      // The answer is out; closing the stream (NO_ERROR: the status stands) cancels the upstream try.
      res?.stream?.close(http2constants.NGHTTP2_NO_ERROR);
    } else {
      res?.stream?.close(http2constants.NGHTTP2_CANCEL);
    }
  }

  /** Writes what the stack produced. */
  respond(r: ProxyResponse): void {
    if (this.responded) {
      // The deadline answered already: this late response has nowhere to go.
      r.body.dump();
      return;
    }
    this.responded = true;
    this.status = r.status;
    // An HTTP/1.1 client still sending a body nobody will read (the upstream answered without it, or failed)
    // would wait on a keep-alive connection forever: say it closes, as Envoy does, and Node closes it after.
    const res = this.res;
    if (
      res !== null &&
      !this.raw &&
      !(res as Http2ServerResponse).stream &&
      !this.req.complete &&
      !res.headersSent
    )
      (res as ServerResponse).setHeader("connection", "close");
    this.errorCode = r.errorCode;
    if (this.protocol === P_GRPC) this.grpcResponse = r;
    r.body.listener = this;
    if (this.raw !== null) respondRaw(this.raw, r, () => (this.joined = true));
    else writeResponse(this.res!, r);
  }

  fail(err: unknown): void {
    const pe = toProxyError(err);
    if (pe.code === "DP_INTERNAL")
      console.error(
        `trellis proxy: internal error on ${this.direction} ${this.req.method} ${this.authority}${this.req.url}:`,
        err,
      );
    // A gRPC caller gets the error as a gRPC status; anyone else as an HTTP status with a text body.
    this.respond(this.protocol === P_GRPC && this.raw === null ? grpcErrorResponse(pe) : errorResponse(pe));
  }

  bodyDone(err: Error | null): void {
    const ms = performance.now() - this.ctx.start;
    if (this.deadlineTimer !== null) {
      clearTimeout(this.deadlineTimer);
      this.deadlineTimer = null;
    }
    const cut: Cut | null =
      err === null
        ? null
        : this.deadlinePassed
          ? CUT_BY_DEADLINE
          : err instanceof ClientClosedError
            ? CUT_BY_CLIENT
            : CUT_UPSTREAM;
    const g = this.grpcResponse;
    const grpcCode = g === null ? null : (grpcStatus(g.headers, g.body) ?? cut?.grpcStatus ?? null);
    const recorded = g === null ? (cut?.http ?? this.status) : grpcOutcome(this.status, grpcCode);
    const series = this.series;
    if (series !== null) {
      series.record(recorded, ms);
      if (series.access !== null) series.access.record(this.req.method!, this.path);
    }
    if (this.spans !== null && this.span !== null && this.span.sampled) {
      const spans = this.spans;
      const facts = {
        span: this.span,
        direction: this.direction,
        req: this.req,
        authority: this.authority,
        protocol: this.protocol,
        status: cut?.http ?? this.status,
        grpcStatus: grpcCode,
        errorCode: this.errorCode ?? cut?.log ?? null,
        series: series,
        ctx: this.ctx,
        endMs: this.ctx.start + ms,
      };
      // A WebSocket's span is its whole session: it ends when the joined connections close, not at the 101
      // (which is when its request is counted).
      const socket = this.joined ? this.raw!.socket : null;
      if (socket !== null && !socket.destroyed)
        socket.once("close", () =>
          spans.record(spanOf({ ...facts, endMs: performance.now(), session: socketBytes(socket) })),
        );
      else spans.record(spanOf(facts));
    }
    if (this.accessLog !== null) {
      this.accessLog(
        JSON.stringify({
          time: new Date().toISOString(),
          direction: this.direction,
          method: this.req.method,
          authority: this.authority,
          path: this.req.url,
          protocol: protocolName(this.protocol),
          status: this.status,
          error: this.errorCode ?? cut?.log ?? null,
          cause: err === null || err instanceof ClientClosedError ? null : err.message,
          durationMs: Math.round(ms * 1000) / 1000,
          upstream: this.ctx.upstreamAddress || null,
          upstreamVersion: this.ctx.upstreamVersion || null,
          attempts: this.ctx.attempts,
          peer: this.ctx.peerId,
          traceId: this.span?.traceId ?? null,
          spanId: this.span?.spanId ?? null,
        }),
      );
    }
  }
}

/** What a session moved on the client's connection (bytes as the client saw them). */
function socketBytes(s: { bytesRead: number; bytesWritten: number }): { bytesIn: number; bytesOut: number } {
  return { bytesIn: s.bytesRead, bytesOut: s.bytesWritten };
}

function onDeadline(ex: Exchange, ms: number): void {
  ex.deadline(ms);
}
