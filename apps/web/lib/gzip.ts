// gzip for the API's answers (tRPC, REST, the OpenAPI document), in two halves that must agree: next.config.ts
// sets `Content-Encoding: gzip` on these routes when the request's Accept-Encoding matches ACCEPTS_GZIP, and
// `gzipped` compresses the body on exactly that condition. Why not Next's own `compress` or the Response's
// header (Next 16.4.5, `next start`; docs/decisions/021-console-on-a-phone.md):
// - `compress` gzips pages but skips Route Handlers: their headers are copied with appendHeader, so
//   Content-Type reads as an array, which the compression filter calls "not compressible";
// - a Content-Encoding set on the Response is dropped (send-response's FORBIDDEN_HEADERS), so the client would
//   get gzip bytes it is not told about.
// Edit when a route is added to GZIPPED_ROUTES (its handler must be wrapped in `gzipped`), or when Next passes
// Content-Encoding through or compresses Route Handlers itself: then drop both halves.

import { Duplex } from "node:stream";
import { createGzip } from "node:zlib";
import { problem } from "@trellis/api";

/** Routes whose handlers are wrapped in `gzipped`, in next.config's `source` syntax. */
export const GZIPPED_ROUTES = ["/api/trpc/:path*", "/api/v1/:path*", "/api/openapi.json"];

/**
 * An Accept-Encoding that takes gzip: the token `gzip` without `;q=0`. Next anchors a `has` value (^…$) and
 * so does `acceptsGzip`: the same text decides the header and the body.
 */
export const ACCEPTS_GZIP = String.raw`.*\bgzip\b(?!\s*;\s*q=0(?:\.0*)?\s*(?:,|$)).*`;
const ACCEPTS = new RegExp(`^${ACCEPTS_GZIP}$`);

export function acceptsGzip(header: string | null): boolean {
  return header !== null && ACCEPTS.test(header);
}

/**
 * zlib's fastest level, as nginx's gzip defaults to. The answers are JSON made per request, so compressing is
 * CPU on every call: for the graph at 2,000 edges (510 KB) level 1 took 3.9 ms where CompressionStream's fixed
 * level 6 took 9.7, for 54 KB instead of 43 KB on the wire (docs/graph-benchmark.md, "Serving it").
 */
const GZIP_LEVEL = 1;

/** No body may follow these: the header alone is harmless, a gzip stream would be wrong. */
const BODILESS = new Set([204, 304]);

/** `handler`, its answers gzipped whenever next.config.ts says they are (see above). */
export function gzipped(handler: (req: Request) => Promise<Response>) {
  return async (req: Request): Promise<Response> => {
    let res: Response;
    try {
      res = await handler(req);
    } catch (e) {
      // A crash, not a path (the handlers answer every error with a problem document). Left to Next, its 500
      // page would go out labelled gzip by next.config.ts and unreadable; this one is gzipped like the rest.
      console.error("[api] handler crashed:", e);
      res = problem(500, { title: "Internal Server Error", code: "INTERNAL", detail: "internal error" });
    }
    const headers = new Headers(res.headers);
    // A cache between the console and the browser must keep the plain and the gzipped answer apart.
    headers.append("vary", "accept-encoding");
    const init = { status: res.status, statusText: res.statusText, headers };
    if (!acceptsGzip(req.headers.get("accept-encoding")) || BODILESS.has(res.status) || req.method === "HEAD")
      return new Response(res.body, init);
    // An empty body too: the client was told gzip, and an empty gzip stream is 20 bytes, not none.
    const body = res.body ?? new Response("").body!;
    // Node's zlib as a web stream pair (Node's and the DOM's stream types differ only in name).
    const gzip = Duplex.toWeb(createGzip({ level: GZIP_LEVEL })) as unknown as ReadableWritablePair<
      Uint8Array<ArrayBuffer>,
      Uint8Array
    >;
    return new Response(body.pipeThrough(gzip), init);
  };
}
