// The one edge where failures become responses: every listener writes results through here, so the mapping
// from cause to status and `x-trellis-error` is in one place and each failure is logged once.
import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import { ResponseBody } from "./body.js";
import { ProxyError } from "./errors.js";
import type { ProxyErrorCode } from "@trellis/contracts/proxy";
import type { ProxyResponse } from "./types.js";

export type ClientResponse = ServerResponse | Http2ServerResponse;

/** A response the proxy makes itself, for an error code. */
export function errorResponse(err: ProxyError): ProxyResponse {
  const text = `${err.code}: ${err.message}\n`;
  return {
    status: err.status,
    headers: [
      "content-type",
      "text/plain; charset=utf-8",
      "content-length",
      String(Buffer.byteLength(text)),
      "x-trellis-error",
      err.code,
    ],
    body: ResponseBody.of(text),
    errorCode: err.code,
  };
}

/** Turns anything thrown by a stack into a ProxyError (unknown errors are internal and keep their cause). */
export function toProxyError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  return new ProxyError("DP_INTERNAL", (err as Error)?.message ?? String(err), { cause: err });
}

/**
 * gRPC status for each proxy error, for gRPC callers: the HTTP-to-gRPC table of the gRPC spec
 * (doc/http-grpc-status-mapping.md), except that a timeout is DEADLINE_EXCEEDED, as the caller's own deadline
 * would say.
 */
const GRPC_STATUS_FOR_ERROR = {
  DP_BAD_REQUEST: 13, // INTERNAL (HTTP 400)
  DP_NO_ROUTE: 12, // UNIMPLEMENTED (HTTP 404)
  DP_UNKNOWN_SERVICE: 12, // UNIMPLEMENTED (HTTP 404)
  DP_NO_HEALTHY_UPSTREAM: 14, // UNAVAILABLE
  DP_UPSTREAM_CONNECT_FAILURE: 14,
  DP_UPSTREAM_RESET: 14,
  DP_UPSTREAM_TIMEOUT: 4, // DEADLINE_EXCEEDED
  DP_UPSTREAM_PROTOCOL: 13, // INTERNAL
  DP_CIRCUIT_OPEN: 14,
  DP_RATE_LIMITED: 14, // UNAVAILABLE (HTTP 429), so clients back off and retry
  DP_FORBIDDEN: 7, // PERMISSION_DENIED
  DP_MTLS_REQUIRED: 16, // UNAUTHENTICATED
  DP_FAULT_ABORT: 14,
  DP_DRAINING: 14,
  DP_INTERNAL: 13,
  DP_UNKNOWN_DESTINATION: 14, // UNAVAILABLE: nothing in the mesh to reach
} as const satisfies Record<ProxyErrorCode, number>;

/** grpc-message is percent-encoded (gRPC over HTTP/2 spec): anything outside printable ASCII, and '%'. */
function grpcMessage(text: string): string {
  let out = "";
  for (const b of Buffer.from(text, "utf8")) {
    out +=
      b >= 0x20 && b <= 0x7e && b !== 0x25
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * The same error for a gRPC caller: a trailers-only answer (HTTP 200, one HEADERS frame with END_STREAM)
 * carrying `grpc-status` and `grpc-message`, as Envoy's local replies to gRPC are. gRPC clients map an HTTP
 * 503 to UNAVAILABLE too, but lose the code's meaning (a timeout, a refusal) and the message.
 */
export function grpcErrorResponse(err: ProxyError): ProxyResponse {
  return {
    status: 200,
    headers: [
      "content-type",
      "application/grpc",
      "grpc-status",
      String(GRPC_STATUS_FOR_ERROR[err.code]),
      "grpc-message",
      grpcMessage(`${err.code}: ${err.message}`),
      "x-trellis-error",
      err.code,
    ],
    body: ResponseBody.of(null),
    errorCode: err.code,
    endStream: true,
  };
}

/** Writes a response head and streams its body to the client. */
export function writeResponse(res: ClientResponse, r: ProxyResponse): void {
  if (res.headersSent || res.destroyed) {
    r.body.dump();
    return;
  }
  try {
    if (r.endStream === true && (res as Http2ServerResponse).stream !== undefined) {
      // HTTP/2 sends the head only when the body starts or the response ends: left unsent here, `end()` puts
      // END_STREAM on the HEADERS frame itself (a gRPC trailers-only answer stays one).
      headersInto(res as Http2ServerResponse, r);
    } else (res as ServerResponse).writeHead(r.status, r.headers as unknown as string[]);
  } catch (err) {
    // The upstream sent something Node refuses to forward (an invalid header value): that is the upstream's fault.
    r.body.dump();
    writeResponse(
      res,
      errorResponse(
        new ProxyError(
          "DP_UPSTREAM_PROTOCOL",
          `upstream response cannot be forwarded: ${(err as Error).message}`,
          { cause: err },
        ),
      ),
    );
    return;
  }
  r.body.pipeTo(res);
}

function headersInto(res: Http2ServerResponse, r: ProxyResponse): void {
  res.statusCode = r.status;
  const h = r.headers;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i]!.toLowerCase();
    const prev = res.getHeader(name);
    if (prev === undefined) res.setHeader(name, h[i + 1]!);
    else res.setHeader(name, Array.isArray(prev) ? [...prev, h[i + 1]!] : [String(prev), h[i + 1]!]);
  }
}
