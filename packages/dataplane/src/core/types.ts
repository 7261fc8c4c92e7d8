// The shapes every layer shares. A layer wraps a Handler and returns a Handler; stacks are built once per
// config (per route and per destination), never per request.
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { Readable } from "node:stream";
import type { Socket } from "node:net";
import type { ResponseBody } from "./body.js";

/** A request on its way through the proxy. Header list is flat `[name, value, ...]`, hop-by-hop headers removed. */
export interface ProxyRequest {
  method: string;
  /** Host (and port) the request is for. */
  authority: string;
  /** Origin-form path, query included. */
  path: string;
  /** Headers to forward, flat `[name, value, ...]`. Layers may edit this list. */
  headers: string[];
  /** The request as received, for header lookups (`incoming.headers`, lower-case keys). */
  incoming: IncomingMessage | Http2ServerRequest;
  /** Request body, or null when the request has none (then it may be retried). */
  body: Readable | null;
  /** Arrived over HTTP/2 (gRPC): forwarded over HTTP/2 too, so trailers and streams survive. */
  h2: boolean;
  /** `Upgrade` protocol asked for (`websocket`), or null. */
  upgrade: string | null;
}

/** A response coming back: status and headers are known, the body streams. */
export interface ProxyResponse {
  status: number;
  /** Flat `[name, value, ...]`, hop-by-hop headers removed. */
  headers: string[];
  body: ResponseBody;
  /** Set when the proxy answered on its own behalf (`x-trellis-error`). */
  errorCode: string | null;
  /**
   * The head ends the response: nothing follows, not even trailers (an HTTP/2 HEADERS frame with END_STREAM,
   * as a gRPC trailers-only answer is). The client then gets it the same way.
   */
  endStream?: boolean;
  /** The upstream connection after a 101 Switching Protocols, to be joined to the client's. */
  upgraded?: Socket;
}

/** Per-request state the layers share. One object per request, fixed shape. */
export interface RequestContext {
  /** When the request arrived (performance.now()). */
  start: number;
  /** Absolute deadline for response headers (performance.now() ms), or Infinity. */
  deadline: number;
  /** Time limit for each try's response head (0: none). Set by the retry layer. */
  perTryTimeoutMs: number;
  /** Caller's SPIFFE ID on the inbound side (null when unauthenticated or outbound). */
  peerId: string | null;
  /** Destination version chosen (for telemetry), or "". */
  upstreamVersion: string;
  /** Endpoint address chosen, or "". */
  upstreamAddress: string;
  /** Attempts made (1 + retries). */
  attempts: number;
  /** A response body idle this long is cut (`limits.streamIdleTimeoutMs`); 0: never. */
  streamIdleTimeoutMs: number;
}

export type Handler = (req: ProxyRequest, ctx: RequestContext) => Promise<ProxyResponse>;
export type Layer = (next: Handler) => Handler;

/** Composes layers outermost first: `stack(inner, a, b)` runs a, then b, then inner. */
export function stack(inner: Handler, ...layers: Layer[]): Handler {
  return layers.reduceRight<Handler>((next, layer) => layer(next), inner);
}

export function newContext(start: number, streamIdleTimeoutMs = 0): RequestContext {
  return {
    streamIdleTimeoutMs,
    start,
    deadline: Infinity,
    perTryTimeoutMs: 0,
    peerId: null,
    upstreamVersion: "",
    upstreamAddress: "",
    attempts: 0,
  };
}
