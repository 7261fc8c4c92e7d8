// HTTP/2 to upstreams on node's own http2 client sessions: gRPC and every other request that travels as h2
// (between sidecars over mTLS with ALPN `h2`, or h2c to an app that speaks it). Chosen over undici's h2
// client on evidence (docs/decisions/005-http2-upstreams.md): that one serialized POSTs on a connection and
// dropped buffered response data when trailers arrived while the consumer was paused.
//
// One pool per endpoint holds a few sessions. A request takes a stream on the first session with room under
// the peer's SETTINGS_MAX_CONCURRENT_STREAMS; when every session is full a new one is opened (up to the
// endpoint's connection cap), and past the cap requests wait in order for a stream to free up. What the wire
// must carry, and the reason for each:
//   - request trailers are forwarded (waitForTrailers), so a client's trailing metadata is not lost;
//   - a request that has ended without a byte still ends the upstream stream (gRPC's empty half-close);
//   - HEADERS with END_STREAM upstream (a gRPC trailers-only answer) is reported as such, so the client gets
//     it the same way;
//   - response data is paused, never dropped, when the client reads slowly (flow control does the rest);
//   - a client that goes away cancels the upstream stream with RST_STREAM CANCEL (8), as gRPC expects.
import http2, {
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from "node:http2";
import tls from "node:tls";
import type { Socket } from "node:net";
import type { Http2ServerRequest } from "node:http2";
import { ClientClosedError, ResponseBody, type BodyControl } from "../core/body.js";
import { HOP_BY_HOP } from "../core/headers.js";
import { ProxyError, upstreamError } from "../core/errors.js";
import type { ProxyRequest, ProxyResponse } from "../core/types.js";
import type { TlsState } from "../tls/material.js";
import { peerCheck, type PeerCheckOptions } from "./pools.js";

const { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM, NGHTTP2_REFUSED_STREAM } = constants;

/** Streams assumed per session until the peer's SETTINGS arrive (RFC 9113 recommends at least 100). */
const INITIAL_MAX_STREAMS = 100;

export interface H2PoolOptions extends PeerCheckOptions {
  /** mTLS material (ALPN h2), or null for h2c (prior knowledge, plain TCP). */
  tls: TlsState | null;
  /** Most sessions to this endpoint; null: as many as the streams need. */
  connections: number | null;
  /** A session with no stream for this long is closed. */
  idleTimeoutMs: number;
}

class Session {
  active = 0;
  maxStreams: number;
  /** GOAWAY received, closing or closed: takes no new streams. */
  done = false;
  /** The connection (and TLS handshake) completed. */
  connected = false;
  /** Why the session failed, if it did: the real cause behind its streams' cancellation. */
  error: Error | null = null;
  idleTimer: NodeJS.Timeout | null = null;
  constructor(
    readonly h2: ClientHttp2Session,
    maxStreams: number,
  ) {
    this.maxStreams = maxStreams;
  }
  get hasRoom(): boolean {
    return !this.done && this.active < this.maxStreams;
  }
}

export class H2Pool {
  private readonly sessions: Session[] = [];
  /** Requests waiting for a stream when every session is full and no more may be opened. */
  private readonly waiting: ((s: Session | Error) => void)[] = [];
  private closed = false;
  /**
   * The peer's SETTINGS_MAX_CONCURRENT_STREAMS as its last session said: a new session assumes it until its
   * own SETTINGS arrive, so a burst on a fresh connection does not overrun a small limit (streams beyond it
   * would be refused).
   */
  private peerMaxStreams = INITIAL_MAX_STREAMS;

  constructor(
    readonly address: string,
    private readonly opts: H2PoolOptions,
  ) {}

  /** Streams open now, over all sessions. */
  get activeStreams(): number {
    let n = 0;
    for (const s of this.sessions) n += s.active;
    return n;
  }

  get sessionCount(): number {
    return this.sessions.length;
  }

  get scheme(): "http" | "https" {
    return this.opts.tls === null ? "http" : "https";
  }

  /** Calls back with a session that has a stream reserved for the caller (release it with `release`). */
  acquire(then: (s: Session | Error) => void): void {
    if (this.closed) {
      then(new ProxyError("DP_UPSTREAM_CONNECT_FAILURE", `pool for ${this.address} is closed`));
      return;
    }
    for (const s of this.sessions) {
      if (s.hasRoom) {
        this.reserve(s);
        then(s);
        return;
      }
    }
    const cap = this.opts.connections;
    if (cap === null || this.sessions.length < cap) {
      const s = this.open();
      this.reserve(s);
      then(s);
      return;
    }
    this.waiting.push(then);
  }

  release(s: Session): void {
    s.active--;
    const next = this.waiting.length > 0 && s.hasRoom ? this.waiting.shift() : undefined;
    if (next !== undefined) {
      this.reserve(s);
      next(s);
      return;
    }
    if (s.active === 0 && !s.done && s.idleTimer === null) {
      s.idleTimer = setTimeout(() => this.retire(s), Math.max(1000, this.opts.idleTimeoutMs));
      s.idleTimer.unref();
    }
  }

  private reserve(s: Session): void {
    s.active++;
    if (s.idleTimer !== null) {
      clearTimeout(s.idleTimer);
      s.idleTimer = null;
    }
  }

  private open(): Session {
    const address = this.address;
    const t = this.opts.tls;
    const settings = { enablePush: false };
    let h2: ClientHttp2Session;
    if (t === null) {
      h2 = http2.connect(`http://${address}`, { settings });
    } else {
      const check = peerCheck(this.opts);
      const colon = address.lastIndexOf(":");
      const host = address.slice(0, colon).replace(/^\[|\]$/g, "");
      const port = Number(address.slice(colon + 1));
      h2 = http2.connect(`https://${address}`, {
        settings,
        createConnection: () =>
          tls.connect({
            host,
            port,
            cert: t.cert,
            key: t.key,
            ca: t.ca,
            ALPNProtocols: ["h2"],
            rejectUnauthorized: true,
            minVersion: "TLSv1.2",
            // No session resumption between sidecars (see pools.ts).
            session: undefined,
            checkServerIdentity: check,
          }) as Socket,
      });
    }
    const s = new Session(h2, this.peerMaxStreams);
    this.sessions.push(s);
    h2.on("remoteSettings", (r) => {
      s.maxStreams = r.maxConcurrentStreams ?? 2 ** 31 - 1;
      this.peerMaxStreams = s.maxStreams;
      this.drainWaiting();
    });
    h2.on("goaway", () => this.forget(s));
    h2.on("close", () => this.forget(s));
    h2.once("connect", () => (s.connected = true));
    // Errors reach the streams on the session (each fails its request); the session itself just goes.
    h2.on("error", (err) => {
      s.error ??= err;
      this.forget(s);
    });
    h2.setTimeout(0);
    return s;
  }

  /** A session that can take no more streams leaves the pool; streams already on it finish. */
  private forget(s: Session): void {
    if (s.idleTimer !== null) {
      clearTimeout(s.idleTimer);
      s.idleTimer = null;
    }
    s.done = true;
    const i = this.sessions.indexOf(s);
    if (i !== -1) this.sessions.splice(i, 1);
    this.drainWaiting();
  }

  private retire(s: Session): void {
    s.idleTimer = null;
    if (s.active > 0) return;
    this.forget(s);
    s.h2.close();
  }

  /** Hands waiting requests the room that opened up (new settings, a session gone: maybe a new one). */
  private drainWaiting(): void {
    while (this.waiting.length > 0) {
      let s = this.sessions.find((x) => x.hasRoom);
      if (s === undefined) {
        const cap = this.opts.connections;
        if (this.closed || (cap !== null && this.sessions.length >= cap)) return;
        s = this.open();
      }
      this.reserve(s);
      this.waiting.shift()!(s);
    }
  }

  /** Stops taking requests; sessions close once their streams finish. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0))
      w(new ProxyError("DP_UPSTREAM_CONNECT_FAILURE", `pool for ${this.address} closed`));
    await Promise.all(
      this.sessions.splice(0).map(
        (s) =>
          new Promise<void>((resolve) => {
            s.done = true;
            if (s.idleTimer !== null) clearTimeout(s.idleTimer);
            if (s.h2.closed || s.h2.destroyed) return resolve();
            s.h2.close(() => resolve());
          }),
      ),
    );
  }
}

/** Request headers as HTTP/2 wants them: lower-case names, no connection-specific fields, pseudo-headers first. */
function requestHeaders(req: ProxyRequest, scheme: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {
    ":method": req.method,
    ":path": req.path,
    ":scheme": scheme,
    ":authority": req.authority,
  };
  const list = req.headers;
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!.toLowerCase();
    const value = list[i + 1]!;
    if (name === "te") {
      if (value.toLowerCase() === "trailers") out.te = "trailers";
      continue;
    }
    if (HOP_BY_HOP.has(name) || name === "host" || name.charCodeAt(0) === 58 /* : */) continue;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev as string, value];
  }
  return out;
}

/** The request's trailers (HTTP/1.1 chunked or HTTP/2), minus anything that may not be a trailer. */
function requestTrailers(req: ProxyRequest): OutgoingHttpHeaders {
  const t = req.incoming.trailers as Record<string, string | string[] | undefined> | undefined;
  const out: OutgoingHttpHeaders = {};
  if (t === undefined) return out;
  for (const k of Object.keys(t)) {
    const name = k.toLowerCase();
    if (name.charCodeAt(0) === 58 || HOP_BY_HOP.has(name) || name === "content-length" || name === "host")
      continue;
    out[name] = t[k];
  }
  return out;
}

/** Node's header object → our flat list, pseudo-headers dropped. */
function flatHeaders(h: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const k of Object.keys(h)) {
    if (k.charCodeAt(0) === 58) continue;
    const v = h[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push(k, x);
    else out.push(k, v);
  }
  return out;
}

function trailerRecord(h: IncomingHttpHeaders | null): Record<string, string> | null {
  if (h === null) return null;
  let out: Record<string, string> | null = null;
  for (const k of Object.keys(h)) {
    if (k.charCodeAt(0) === 58) continue;
    const v = h[k];
    if (v === undefined) continue;
    (out ??= {})[k] = Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

/** An upstream stream that ended without completing (RST_STREAM or the connection went). */
export class UpstreamStreamError extends Error {
  readonly code: string;
  constructor(
    readonly rstCode: number,
    cause: Error | null,
  ) {
    super(
      cause !== null
        ? `upstream stream failed: ${cause.message}`
        : `upstream reset the stream (RST_STREAM ${rstCode})`,
      cause !== null ? { cause } : undefined,
    );
    this.code =
      (cause as { code?: string } | null)?.code ??
      (rstCode === NGHTTP2_REFUSED_STREAM ? "ERR_HTTP2_REFUSED_STREAM" : "ERR_HTTP2_STREAM_RESET");
  }
}

/** One request/response exchange on an upstream h2 stream; also the body's control for the client side. */
class H2Exchange implements BodyControl {
  stream: ClientHttp2Stream | null = null;
  body: ResponseBody | null = null;
  timer: NodeJS.Timeout | null = null;
  private trailers: IncomingHttpHeaders | null = null;
  private ended = false;
  private settled = false;
  private streamError: Error | null = null;
  /** Where we learn that the client went away, and the listener to remove when done. */
  private clientGone: {
    on: Socket | ClientHttp2Stream | Http2ServerRequest["stream"];
    fn: () => void;
  } | null = null;

  constructor(
    private readonly pool: H2Pool,
    private readonly session: Session,
    private readonly req: ProxyRequest,
    private readonly resolve: (r: ProxyResponse) => void,
    private readonly reject: (e: Error) => void,
  ) {}

  // BodyControl: the client side steers the upstream stream.
  resume(): void {
    this.stream?.resume();
  }
  abort(err: Error): void {
    const s = this.stream;
    if (s === null || s.closed || s.destroyed) return;
    s.close(err instanceof ClientClosedError ? NGHTTP2_CANCEL : constants.NGHTTP2_INTERNAL_ERROR);
  }

  discard(): void {
    this.abort(new ClientClosedError());
  }

  start(scheme: string, idleTimeoutMs: number): void {
    const req = this.req;
    const hasBody = req.body !== null;
    let stream: ClientHttp2Stream;
    try {
      stream = this.session.h2.request(requestHeaders(req, scheme), {
        endStream: !hasBody,
        waitForTrailers: hasBody,
      });
    } catch (err) {
      this.pool.release(this.session);
      this.fail(err as Error);
      return;
    }
    this.stream = stream;
    // The body exists before the head: Node emits 'response' on the next tick, and when HEADERS and DATA
    // arrive in one read (as over TLS) the first chunk comes before it. The body queues it until a sink reads.
    const body = new ResponseBody(this);
    this.body = body;
    stream.on("response", (headers, flags) => this.onResponse(headers, flags));
    stream.on("data", (chunk: Buffer) => {
      if (!body.push(chunk)) stream.pause();
    });
    stream.on("trailers", (t) => (this.trailers = t));
    stream.on("end", () => {
      // Node ends the readable side of a stream the peer reset, too: that is no END_STREAM, and the response
      // is not whole (the close handler reports it).
      const rc = stream.rstCode;
      if (rc !== undefined && rc !== constants.NGHTTP2_NO_ERROR) return;
      this.ended = true;
      this.body?.end(trailerRecord(this.trailers));
    });
    stream.on("error", (err) => (this.streamError = err));
    stream.on("close", () => this.onClose());
    if (idleTimeoutMs > 0) stream.setTimeout(idleTimeoutMs, () => this.idle(idleTimeoutMs));
    this.watchClient();
    if (hasBody) {
      const src = req.body!;
      stream.on("wantTrailers", () => {
        if (!stream.destroyed) stream.sendTrailers(requestTrailers(req));
      });
      src.pipe(stream);
    }
  }

  /** The client leaving (its stream or connection closing) before the upstream stream is done cancels it. */
  private watchClient(): void {
    const incoming = this.req.incoming;
    const on = this.req.h2 ? (incoming as Http2ServerRequest).stream : incoming.socket;
    if (on === null || on === undefined) return;
    const fn = () => this.abort(new ClientClosedError());
    on.once("close", fn);
    this.clientGone = { on, fn };
  }

  private onResponse(headers: IncomingHttpHeaders, flags: number): void {
    const status = Number(headers[":status"]);
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.settled) return;
    this.settled = true;
    this.resolve({
      status,
      headers: flatHeaders(headers),
      body: this.body!,
      errorCode: null,
      endStream: (flags & NGHTTP2_FLAG_END_STREAM) !== 0,
    });
  }

  /** Nothing moved on the stream for the idle limit: cut it (the close handler reports the failure). */
  private idle(ms: number): void {
    this.streamError = Object.assign(new Error(`upstream stream idle for ${ms} ms`), {
      code: "UND_ERR_BODY_TIMEOUT",
    });
    this.stream?.close(NGHTTP2_CANCEL);
  }

  /** Our timer: no response head in time. */
  timeout(ms: number): void {
    this.timer = null;
    if (this.settled) return;
    this.fail(
      new ProxyError(
        "DP_UPSTREAM_TIMEOUT",
        `upstream ${this.pool.address} sent no response head within ${ms} ms`,
      ),
    );
    this.abort(new ClientClosedError());
  }

  private onClose(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const c = this.clientGone;
    if (c !== null) {
      c.on.off("close", c.fn);
      this.clientGone = null;
    }
    this.pool.release(this.session);
    if (this.ended) return;
    const stream = this.stream!;
    const err = new UpstreamStreamError(stream.rstCode ?? 0, this.cause());
    if (!this.settled) this.fail(err);
    else this.body!.fail(err);
    // The client's body has nowhere to go now.
    const src = this.req.body;
    if (src !== null) src.unpipe(stream);
  }

  /**
   * What made the stream fail. Node cancels the streams of a session that failed (ERR_HTTP2_STREAM_CANCEL);
   * the session's own error says why (ECONNREFUSED, a TLS or peer-identity failure), and whether a retry is
   * safe: a connection that never came up carried nothing.
   */
  private cause(): Error | null {
    const e = this.streamError as (Error & { code?: string }) | null;
    const s = this.session;
    if (e?.code === "ERR_HTTP2_STREAM_CANCEL" || e === null) {
      if (e?.cause instanceof Error) return e.cause;
      if (s.error !== null && !s.connected) return s.error;
    }
    return e;
  }

  fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(upstreamError(err, this.pool.address));
  }
}

/** Sends `req` on an h2 stream of `pool`. Resolves at the response head; rejects with a ProxyError before it. */
export function dispatchH2(
  pool: H2Pool,
  req: ProxyRequest,
  headersTimeoutMs: number,
  idleTimeoutMs = 0,
): Promise<ProxyResponse> {
  return new Promise<ProxyResponse>((resolve, reject) => {
    pool.acquire((s) => {
      if (s instanceof Error) {
        reject(upstreamError(s, pool.address));
        return;
      }
      const ex = new H2Exchange(pool, s, req, resolve, reject);
      if (headersTimeoutMs > 0) ex.timer = setTimeout(onTimer, headersTimeoutMs, ex, headersTimeoutMs);
      ex.start(pool.scheme, idleTimeoutMs);
    });
  });
}

function onTimer(ex: H2Exchange, ms: number): void {
  ex.timeout(ms);
}
