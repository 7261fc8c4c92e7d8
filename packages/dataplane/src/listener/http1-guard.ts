// The HTTP/1.1 checks that Node's parser (llhttp, strict mode) leaves to us, run on every HTTP/1 request head
// before a stack sees it; and the clean-up when llhttp finds an error after a request's head (in its chunked
// body), so the part already on its way upstream is cut. llhttp itself refuses CL+TE, duplicate or malformed
// Content-Length, TE not ending in chunked, obs-fold, bare CR/LF, control characters and bad chunk framing
// (http1-smuggling.test.ts lists every vector and who catches it). What it accepts and we refuse is what
// Envoy and hyper (linkerd2-proxy) refuse too: a transfer coding other than plain `chunked`, TE on HTTP/1.0,
// other HTTP versions, a missing, repeated or invalid Host (RFC 9112 §3.2), a target that is neither
// origin-form nor absolute-form naming the Host, more headers than `limits.maxHeaders` (431), and a body on an
// Upgrade request (it would be replayed as tunnel data after a 101).
//
// A refused request gets 400 (431) with `x-trellis-error: DP_BAD_REQUEST`, counted in
// `trellis_bad_requests_total`, and its connection is closed: bytes that followed it on that connection (a
// smuggled request) are never treated as a request. When to edit: llhttp lets a new framing vector through;
// add it to http1-smuggling.test.ts first.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { ProxyError } from "../core/errors.js";
import { splitAbsolute } from "./target.js";

const CODE = "DP_BAD_REQUEST";
const kRefused = Symbol("trellis.http1.refused");
const kLast = Symbol("trellis.http1.last");
type GuardedSocket = Socket & {
  /** Set once a request on the connection was refused: what follows is never processed. */
  [kRefused]?: true;
  /** The last request that went on to a stack: its body may still be arriving. */
  [kLast]?: IncomingMessage;
  /** Node's response in progress on the connection. */
  _httpMessage?: ServerResponse | null;
};

/** The answer to a request refused before any stack saw it. The connection is closed after it. */
export function badRequest(code: string, status: number, reason: string): string {
  const body = `${code}: ${reason}\n`;
  return `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-trellis-error: ${code}\r\n\r\n${body}`;
}

// RFC 3986 host (IP literal, or reg-name: unreserved, pct-encoded, sub-delims) and an optional port.
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(?::[0-9]*)?$/;

/**
 * Whether `req` may go on to a stack. Otherwise it is answered (400/431, after any response still owed on the
 * connection), counted, and its connection closes. Requests that arrive on a connection after a refused one
 * are dropped unread. `res` is null for an Upgrade request.
 */
export function admitHttp1(
  req: IncomingMessage,
  res: ServerResponse | null,
  maxHeaders: number,
  onBadRequest: () => void,
): boolean {
  const socket = req.socket as GuardedSocket;
  if (socket[kRefused] === true) return false;
  const problem = headProblem(req, res === null, maxHeaders);
  if (problem === null) {
    socket[kLast] = req;
    return true;
  }
  onBadRequest();
  socket[kRefused] = true;
  if (res === null) {
    if (socket.writable) socket.end(badRequest(CODE, problem.status, problem.reason));
    socket.destroySoon();
    return false;
  }
  // Through Node's response, so it is queued behind responses owed to earlier pipelined requests; Node closes
  // the connection after it (`connection: close`).
  const body = `${CODE}: ${problem.reason}\n`;
  res.writeHead(problem.status, [
    "connection",
    "close",
    "content-type",
    "text/plain",
    "content-length",
    String(Buffer.byteLength(body)),
    "x-trellis-error",
    CODE,
  ]);
  res.end(body);
  return false;
}

/**
 * Node's `clientError`: llhttp refused bytes on the connection, or the client's socket failed. When that
 * happened in the body of a request already handed to a stack (a bad chunk), the body bytes parsed before the
 * error that the upstream request has not taken yet are dropped, and the request is destroyed once the 400 is
 * out. Destroying it aborts its upstream exchange, as a client error (not held against the endpoint): undici
 * resets the upstream connection rather than finish the request, so the upstream never sees it complete, and
 * when head and bad chunk came together it has sent nothing at all.
 */
export function onClientError(err: NodeJS.ErrnoException, socket: Socket, onBadRequest: () => void): void {
  const s = socket as GuardedSocket;
  if (s[kRefused] === true) return; // already answered; this is what followed (e.g. data after HTTP/1.0)
  s[kRefused] = true;
  onBadRequest();
  const last = s[kLast];
  const req = last !== undefined && !last.complete ? last : null;
  const cut = () =>
    req?.destroy(
      new ProxyError("DP_BAD_REQUEST", `the request from the client failed: ${err.code ?? err.message}`),
    );
  // A response has started (the upstream answered before the body was done): no 400 can be written.
  if (s._httpMessage?.headersSent === true || !socket.writable || err.code === "ECONNRESET") {
    cut();
    socket.destroy();
    return;
  }
  // If the upstream request has not started reading the body (undici writes its head with the first body
  // bytes), the bytes parsed before the error never reach it.
  if (req !== null && req.listenerCount("data") === 0) while (req.read() !== null);
  const status =
    err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
  // Destroying an unfinished request destroys its socket too, so only once the 400 has been written.
  socket.end(badRequest(CODE, status, err.code ?? "malformed request"), cut);
  socket.destroySoon();
}

function headProblem(
  req: IncomingMessage,
  upgrade: boolean,
  maxHeaders: number,
): { status: number; reason: string } | null {
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor > 1)
    return { status: 400, reason: "only HTTP/1.0 and HTTP/1.1 are spoken here" };
  const raw = req.rawHeaders;
  // Node is told not to drop headers past a count (servers.ts), so that none is hidden from us but not from
  // llhttp (a Transfer-Encoding past the limit would frame the body without our seeing it).
  if (raw.length > 2 * maxHeaders) return { status: 431, reason: `more than ${maxHeaders} headers` };
  let host: string | null = null;
  let hosts = 0;
  let te: string | null = null;
  let length = "";
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Lengths first: almost every header is none of these, and then no lower-casing happens.
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === "host") {
          hosts++;
          host = raw[i + 1]!;
        }
        break;
      case 14:
        if (name.toLowerCase() === "content-length") length = raw[i + 1]!;
        break;
      case 17:
        // llhttp has refused a second Transfer-Encoding header and one not ending in `chunked`.
        if (name.toLowerCase() === "transfer-encoding") te = raw[i + 1]!;
        break;
    }
  }
  if (te !== null) {
    if (req.httpVersionMinor === 0)
      return { status: 400, reason: "transfer-encoding in an HTTP/1.0 request" };
    // `gzip, chunked` would reach the upstream as plain data once we re-frame it; Envoy accepts `chunked` only.
    if (te.toLowerCase() !== "chunked") return { status: 400, reason: "unsupported transfer-encoding" };
  }
  if (hosts > 1) return { status: 400, reason: "more than one host header" };
  if (host === null) {
    if (req.httpVersionMinor === 1) return { status: 400, reason: "HTTP/1.1 request without a host header" };
  } else if (!HOST.test(host)) return { status: 400, reason: "invalid host header" };
  const url = req.url ?? "";
  if (url.charCodeAt(0) !== 47 /* / */) {
    if (url === "*") {
      if (req.method !== "OPTIONS")
        return { status: 400, reason: "asterisk-form target on a method other than OPTIONS" };
    } else {
      const target = splitAbsolute(url);
      if (target === null)
        return { status: 400, reason: "request target is neither origin-form nor absolute-form" };
      // RFC 9112 §3.2.2 lets the target win over Host; Host naming another authority is refused instead, so
      // nothing downstream can be led to route or authorize by a different name than we did.
      if (host !== null && !sameAuthority(target.authority, host, url))
        return { status: 400, reason: "absolute-form target and host header disagree" };
    }
  }
  // llhttp stops at the head of an Upgrade request: what follows goes to the upstream as tunnel data.
  if (upgrade && (te !== null || (length !== "" && length !== "0")))
    return { status: 400, reason: "upgrade request with a body" };
  return null;
}

/** `api`, `API:80` and `api:80` name the same authority for an `http://` target. */
function sameAuthority(target: string, host: string, url: string): boolean {
  const a = target.toLowerCase();
  const b = host.toLowerCase();
  if (a === b) return true;
  const port = url.charCodeAt(4) === 115 /* https */ ? ":443" : ":80";
  const strip = (s: string) => (s.endsWith(port) ? s.slice(0, -port.length) : s);
  return strip(a) === strip(b);
}
