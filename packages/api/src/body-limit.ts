// Request-body limits for every HTTP route of the console. Edit here to change a limit or give a route one of
// its own; the route handlers (and handleRestRequest / handleTrpcRequest) call `limitBody` before they look
// at a session, a token or the JSON, so an oversized body costs neither a database query nor a parse.
import { problem } from "./problem.js";

/** What any route accepts: the largest ordinary input (a 10 000-character description) fits many times. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * Change uploads (`POST /changes`, `/changes/preview` and their tRPC twins) carry up to 1 000 000 characters
 * of YAML (ZChangeCreateInput), or 100 operations. JSON-encoded, a line break becomes `\n` and a non-ASCII
 * character up to 3 bytes, so 4 MiB holds the largest valid upload with room to spare.
 */
export const CHANGE_UPLOAD_BODY_LIMIT = 4 * 1024 * 1024;

const CHANGE_UPLOAD_REST_PATHS = new Set(["/api/v1/changes", "/api/v1/changes/preview"]);
const CHANGE_UPLOAD_PROCEDURES = new Set(["change.create", "change.preview"]);

/** The body limit of a REST path (`/api/v1/...`). */
export function restBodyLimit(pathname: string): number {
  return CHANGE_UPLOAD_REST_PATHS.has(pathname.replace(/\/+$/, ""))
    ? CHANGE_UPLOAD_BODY_LIMIT
    : DEFAULT_BODY_LIMIT;
}

/** The body limit of a tRPC call: `procedures` is the path after the endpoint, batches comma-separated. */
export function trpcBodyLimit(procedures: string): number {
  return procedures.split(",").some((p) => CHANGE_UPLOAD_PROCEDURES.has(p))
    ? CHANGE_UPLOAD_BODY_LIMIT
    : DEFAULT_BODY_LIMIT;
}

function tooLarge(limit: number): Response {
  return problem(
    413,
    {
      title: "request body too large",
      code: "PAYLOAD_TOO_LARGE",
      detail: `the request body may be at most ${limit} bytes`,
    },
    // The rest of the body is never read: closing is cheaper than draining it for the next request.
    { connection: "close" },
  );
}

/**
 * The request with its body read into memory, or a 413 problem once the body proves longer than `limit`:
 * at once when Content-Length says so (nothing is read), else as soon as the counted bytes pass it (chunked
 * bodies, or a Content-Length that lies). The stream is left unread, not cancelled: cancelling a Node request
 * stream destroys its socket, and with it the 413 still to be written.
 */
export async function limitBody(req: Request, limit: number): Promise<Request | Response> {
  const declared = req.headers.get("content-length");
  if (declared !== null && !(Number(declared) <= limit)) return tooLarge(limit);
  if (req.body === null) return req;
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      reader.releaseLock();
      return tooLarge(limit);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  const headers = new Headers(req.headers);
  // The body is whole now: say how long it is, not how it came.
  headers.delete("transfer-encoding");
  headers.set("content-length", String(size));
  return new Request(req.url, { method: req.method, headers, body, signal: req.signal });
}

/**
 * Wraps a route handler (next-auth's, or any other that reads a body) so it only ever sees a body within
 * `limit`.
 */
export function withBodyLimit<A extends unknown[]>(
  handler: (req: Request, ...rest: A) => Promise<Response> | Response,
  limit = DEFAULT_BODY_LIMIT,
): (req: Request, ...rest: A) => Promise<Response> {
  return async (req, ...rest) => {
    const limited = await limitBody(req, limit);
    return limited instanceof Response ? limited : handler(limited, ...rest);
  };
}
