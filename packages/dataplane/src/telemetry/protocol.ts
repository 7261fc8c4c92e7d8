// Which protocol a request spoke, for telemetry: decided once per request from what the listener already
// knows (HTTP/2 or not, the Upgrade asked for, and for HTTP/2 the content type), never from the body. Kept as
// a small integer so series can be cached in arrays indexed by it; `TRAFFIC_PROTOCOLS[i]` is its name.
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { TRAFFIC_PROTOCOLS, type TrafficProtocol } from "@trellis/contracts/proxy";

/** Indexes into TRAFFIC_PROTOCOLS (`http1`, `http2`, `grpc`, `websocket`, `tcp`). */
export const P_HTTP1 = 0;
export const P_HTTP2 = 1;
export const P_GRPC = 2;
export const P_WEBSOCKET = 3;
export const P_TCP = 4;
export const PROTOCOL_COUNT = TRAFFIC_PROTOCOLS.length;

export function protocolName(p: number): TrafficProtocol {
  return TRAFFIC_PROTOCOLS[p]!;
}

export function requestProtocol(
  req: IncomingMessage | Http2ServerRequest,
  isH2: boolean,
  upgrade: string | null,
): number {
  if (isH2) {
    // gRPC is HTTP/2 with `application/grpc`, `application/grpc+proto`, …
    const ct = req.headers["content-type"];
    return typeof ct === "string" && ct.startsWith("application/grpc") ? P_GRPC : P_HTTP2;
  }
  return upgrade === "websocket" ? P_WEBSOCKET : P_HTTP1;
}

/**
 * The HTTP status the gRPC spec pairs with each `grpc-status` (index = code), as gRPC gateways translate
 * them: a gRPC answer is HTTP 200 whatever happened, so telemetry records this instead and every non-OK
 * status lands in 4xx or 5xx (see contracts' isErrorOutcome).
 */
const HTTP_FOR_GRPC_STATUS = [
  200, // 0 OK
  499, // 1 CANCELLED
  500, // 2 UNKNOWN
  400, // 3 INVALID_ARGUMENT
  504, // 4 DEADLINE_EXCEEDED
  404, // 5 NOT_FOUND
  409, // 6 ALREADY_EXISTS
  403, // 7 PERMISSION_DENIED
  429, // 8 RESOURCE_EXHAUSTED
  400, // 9 FAILED_PRECONDITION
  409, // 10 ABORTED
  400, // 11 OUT_OF_RANGE
  501, // 12 UNIMPLEMENTED
  500, // 13 INTERNAL
  503, // 14 UNAVAILABLE
  500, // 15 DATA_LOSS
  401, // 16 UNAUTHENTICATED
];

/** The status to record for a gRPC exchange: `grpc-status` (null: none was sent, which a client sees as UNKNOWN). */
export function grpcOutcome(httpStatus: number, grpcStatus: string | null): number {
  if (httpStatus !== 200) return httpStatus; // the proxy or the server refused it at the HTTP level
  if (grpcStatus === null) return 500;
  const n = Number(grpcStatus);
  return Number.isInteger(n) && n >= 0 && n < HTTP_FOR_GRPC_STATUS.length ? HTTP_FOR_GRPC_STATUS[n]! : 500;
}
