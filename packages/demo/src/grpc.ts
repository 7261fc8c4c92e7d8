// gRPC for the demo's ratings service (proto/ratings.proto), on node:http2 alone: the wire format is small
// enough to write out (a 5-byte frame header, then a protobuf message of two fields), and the demo stays free
// of a gRPC runtime. demo.test.ts checks a real gRPC client (@grpc/grpc-js with the .proto) agrees with it.
//
//   request   POST /trellis.demo.v1.Ratings/GetRating  content-type: application/grpc  te: trailers
//   response  200 content-type: application/grpc, one message, trailers grpc-status / grpc-message
import http2, { type ClientHttp2Session, type ServerHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import { target, type Reach } from "./reach.js";
import { traceHeaders } from "./tracing.js";

export const GET_RATING_PATH = "/trellis.demo.v1.Ratings/GetRating";

/** The gRPC status codes the demo uses. */
export const GRPC_OK = 0;
export const GRPC_INVALID_ARGUMENT = 3;
export const GRPC_UNIMPLEMENTED = 12;
export const GRPC_INTERNAL = 13;
export const GRPC_UNAVAILABLE = 14;

export interface GetRatingResponse {
  productId: number;
  ratings: Record<string, number>;
}

// --- protobuf: varints and length-delimited fields, all these two messages need -----------------------------

function varint(n: number): number[] {
  const out: number[] = [];
  // int32 negatives are ten bytes in protobuf; the demo's numbers are never negative.
  let v = n >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

function lengthDelimited(field: number, bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(bytes.length)]), bytes]);
}

function varintField(field: number, n: number): Buffer {
  return n === 0 ? Buffer.alloc(0) : Buffer.from([(field << 3) | 0, ...varint(n)]); // proto3 omits zeros
}

/** Reads the fields of one message: [field number, wire type, value (number or bytes)]. */
function* fields(buf: Buffer): Generator<[number, number, number | Buffer]> {
  let i = 0;
  const readVarint = () => {
    let shift = 0;
    let v = 0;
    for (;;) {
      if (i >= buf.length) throw new Error("truncated varint");
      const b = buf[i++]!;
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return v;
      shift += 7;
      if (shift > 63) throw new Error("varint too long");
    }
  };
  while (i < buf.length) {
    const tag = readVarint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) yield [field, wire, readVarint()];
    else if (wire === 2) {
      const len = readVarint();
      if (i + len > buf.length) throw new Error("truncated field");
      yield [field, wire, buf.subarray(i, i + len)];
      i += len;
    } else if (wire === 5) i += 4;
    else if (wire === 1) i += 8;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

export function encodeGetRatingRequest(productId: number): Buffer {
  return varintField(1, productId);
}

export function decodeGetRatingRequest(buf: Buffer): { productId: number } {
  let productId = 0;
  for (const [f, w, v] of fields(buf)) if (f === 1 && w === 0) productId = (v as number) | 0;
  return { productId };
}

export function encodeGetRatingResponse(r: GetRatingResponse): Buffer {
  const parts = [varintField(1, r.productId)];
  for (const [k, v] of Object.entries(r.ratings))
    parts.push(lengthDelimited(2, Buffer.concat([lengthDelimited(1, Buffer.from(k)), varintField(2, v)])));
  return Buffer.concat(parts);
}

export function decodeGetRatingResponse(buf: Buffer): GetRatingResponse {
  const out: GetRatingResponse = { productId: 0, ratings: {} };
  for (const [f, w, v] of fields(buf)) {
    if (f === 1 && w === 0) out.productId = (v as number) | 0;
    else if (f === 2 && w === 2) {
      let key = "";
      let value = 0;
      for (const [ef, ew, ev] of fields(v as Buffer)) {
        if (ef === 1 && ew === 2) key = (ev as Buffer).toString("utf8");
        else if (ef === 2 && ew === 0) value = (ev as number) | 0;
      }
      out.ratings[key] = value;
    }
  }
  return out;
}

// --- gRPC framing -------------------------------------------------------------------------------------------

/** One length-prefixed message: flag 0 (not compressed), 4-byte big-endian length, the message. */
export function frame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** The one message of a unary call's body, or null when the body is not exactly one uncompressed message. */
export function unframe(body: Buffer): Buffer | null {
  if (body.length < 5 || body[0] !== 0) return null;
  const len = body.readUInt32BE(1);
  return body.length === 5 + len ? body.subarray(5) : null;
}

// --- server side --------------------------------------------------------------------------------------------

/** Whether an HTTP/2 request is a gRPC call (the content type says so). */
export function isGrpc(headers: IncomingHttpHeaders): boolean {
  return String(headers["content-type"] ?? "").startsWith("application/grpc");
}

/** Answers one unary gRPC call on `stream`: `handle` gets the request message, returns the response or a status. */
export function serveUnary(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  methods: Record<string, (message: Buffer) => Buffer | { status: number; message: string }>,
): void {
  const handle = methods[String(headers[":path"])];
  const fail = (status: number, message: string) => {
    // Trailers-only: the status goes in the one HEADERS frame, as gRPC servers answer an immediate error.
    if (!stream.headersSent)
      stream.respond(
        {
          ":status": 200,
          "content-type": "application/grpc",
          "grpc-status": String(status),
          "grpc-message": encodeURIComponent(message),
        },
        { endStream: true },
      );
  };
  if (handle === undefined) {
    stream.resume();
    return fail(GRPC_UNIMPLEMENTED, `no method ${String(headers[":path"])}`);
  }
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c));
  stream.on("error", () => {});
  stream.on("end", () => {
    const message = unframe(Buffer.concat(chunks));
    if (message === null) return fail(GRPC_INTERNAL, "expected one uncompressed message");
    let result: Buffer | { status: number; message: string };
    try {
      result = handle(message);
    } catch (e) {
      return fail(GRPC_INVALID_ARGUMENT, (e as Error).message);
    }
    if (!Buffer.isBuffer(result)) return fail(result.status, result.message);
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": String(GRPC_OK) }));
    stream.end(frame(result));
  });
}

// --- client side --------------------------------------------------------------------------------------------

/** `value` only when the call ended OK (status 0). */
export type GrpcResult<T> = { status: 0; value: T } | { status: number; message: string };

/**
 * A unary gRPC client over h2c, reaching each service as `reach` says (its sidecar's outbound listener with
 * `:authority: <service>`, or the service by name): one HTTP/2 connection per address, reopened when it
 * closes. Never throws: a call that got no answer is `UNAVAILABLE`, as gRPC clients report it.
 */
export function grpcVia(
  reach: Reach,
  timeoutMs = 3_000,
): {
  call(service: string, path: string, message: Buffer): Promise<GrpcResult<Buffer>>;
  close(): void;
} {
  const sessions = new Map<string, ClientHttp2Session>();
  const connect = (origin: string): ClientHttp2Session => {
    const open = sessions.get(origin);
    if (open !== undefined && !open.closed && !open.destroyed) return open;
    const s = http2.connect(origin);
    s.on("error", () => {});
    s.on("close", () => {
      if (sessions.get(origin) === s) sessions.delete(origin);
    });
    s.unref(); // the demo's lifetime is its servers'; an idle client connection keeps nothing alive
    sessions.set(origin, s);
    return s;
  };
  const call = (service: string, path: string, message: Buffer) =>
    new Promise<GrpcResult<Buffer>>((resolve) => {
      let settled = false;
      const done = (r: GrpcResult<Buffer>) => {
        if (settled) return;
        settled = true;
        resolve(r);
      };
      let req: http2.ClientHttp2Stream;
      try {
        const to = target(reach, service);
        req = connect(`http://${to.host}:${to.port}`).request({
          ":method": "POST",
          ":path": path,
          ":authority": to.authority,
          "content-type": "application/grpc",
          te: "trailers",
          ...traceHeaders(),
        });
      } catch (e) {
        return done({ status: GRPC_UNAVAILABLE, message: (e as Error).message });
      }
      let httpStatus = 0;
      let status: string | undefined;
      let statusMessage = "";
      const chunks: Buffer[] = [];
      req.setTimeout(timeoutMs, () => req.close(http2.constants.NGHTTP2_CANCEL));
      req.on("response", (h) => {
        httpStatus = Number(h[":status"]);
        if (h["grpc-status"] !== undefined) {
          status = String(h["grpc-status"]);
          statusMessage = decodeURIComponent(String(h["grpc-message"] ?? ""));
        }
      });
      req.on("trailers", (t) => {
        status = String(t["grpc-status"] ?? "");
        statusMessage = decodeURIComponent(String(t["grpc-message"] ?? ""));
      });
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("error", (e) => done({ status: GRPC_UNAVAILABLE, message: e.message }));
      req.on("close", () => {
        if (status === undefined)
          // No gRPC status at all: the sidecar answered at the HTTP level (503, 404, …) or nothing answered.
          return done({
            status: GRPC_UNAVAILABLE,
            message: httpStatus === 0 ? "no answer" : `HTTP ${httpStatus}`,
          });
        const code = Number(status);
        if (code !== GRPC_OK) return done({ status: code, message: statusMessage });
        const m = unframe(Buffer.concat(chunks));
        done(m === null ? { status: GRPC_INTERNAL, message: "malformed response" } : { status: 0, value: m });
      });
      req.end(frame(message));
    });
  return {
    call,
    close: () => {
      for (const s of sessions.values()) s.close();
      sessions.clear();
    },
  };
}
