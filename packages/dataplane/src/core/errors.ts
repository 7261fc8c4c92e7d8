// Typed errors with a stable code and a cause. Layers throw these; one edge (core/respond.ts) turns them into a
// response with `x-trellis-error` and logs them once.
import { PROXY_ERROR_HTTP_STATUS, type ProxyErrorCode } from "@trellis/contracts/proxy";

export class ProxyError extends Error {
  readonly code: ProxyErrorCode;
  readonly status: number;
  constructor(code: ProxyErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ProxyError";
    this.code = code;
    this.status = options?.status ?? PROXY_ERROR_HTTP_STATUS[code];
  }
}

/** undici / socket error codes, mapped to what they mean for the caller. */
const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_CONNECT_TIMEOUT",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_HAS_EXPIRED",
  "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA",
  "ERR_TRELLIS_PEER_IDENTITY",
]);
const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "ETIMEDOUT"]);

/** Classifies an upstream failure. Connect failures are safe to retry whatever the method: nothing was sent. */
export function upstreamError(err: unknown, address: string): ProxyError {
  if (err instanceof ProxyError) return err;
  const code = (err as { code?: string } | null)?.code ?? "";
  if (CONNECT_CODES.has(code) || code.startsWith("ERR_SSL") || code.startsWith("ERR_TLS")) {
    return new ProxyError(
      "DP_UPSTREAM_CONNECT_FAILURE",
      `connect to ${address} failed: ${code} ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (TIMEOUT_CODES.has(code))
    return new ProxyError("DP_UPSTREAM_TIMEOUT", `upstream ${address} timed out`, { cause: err });
  if (code === "UND_ERR_INFO" || code === "HPE_INVALID_CONSTANT" || code.startsWith("HPE_")) {
    return new ProxyError("DP_UPSTREAM_PROTOCOL", `upstream ${address} sent invalid HTTP`, { cause: err });
  }
  return new ProxyError(
    "DP_UPSTREAM_RESET",
    `upstream ${address} reset the request: ${code || (err as Error)?.message}`,
    { cause: err },
  );
}
