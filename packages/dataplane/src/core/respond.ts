// The one edge where failures become responses: every listener writes results through here, so the mapping
// from cause to status and `x-trellis-error` is in one place and each failure is logged once.
import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import { ResponseBody } from "./body.js";
import { ProxyError } from "./errors.js";
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

/** Writes a response head and streams its body to the client. */
export function writeResponse(res: ClientResponse, r: ProxyResponse): void {
  if (res.headersSent || res.destroyed) {
    r.body.dump();
    return;
  }
  try {
    (res as ServerResponse).writeHead(r.status, r.headers as unknown as string[]);
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
