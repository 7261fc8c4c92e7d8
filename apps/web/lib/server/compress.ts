// gzip for the API's answers (tRPC, REST, the OpenAPI document). Next's `compress` gzips pages and static
// files but not what a Route Handler returns: with `next start` (16.4.5) /api/openapi.json went out as 230 KB
// of plain JSON, and every tRPC batch the console polls went out plain too. Edit when a route starts to
// stream (server-sent events would wait for the compressor's buffer) or answers a new kind of text.
import "server-only";

/** Below this, when the size is known, the gzip header and the compressor's work cost more than they save. */
const MIN_BYTES = 1024;
const COMPRESSIBLE = /^(application\/(json|yaml)|text\/)/i;

/** Whether `accept-encoding` takes gzip: named, or `*`, with a q-value above 0. */
export function acceptsGzip(header: string | null): boolean {
  if (!header) return false;
  return header.split(",").some((part) => {
    const [coding = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    if (coding !== "gzip" && coding !== "*") return false;
    const q = params.find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** `res`, gzipped on the fly when the client takes gzip and the body is text worth compressing. */
export function compressed(req: Request, res: Response): Response {
  if (res.body === null || res.headers.has("content-encoding")) return res;
  if (!COMPRESSIBLE.test(res.headers.get("content-type") ?? "")) return res;
  const length = res.headers.get("content-length");
  if (length !== null && Number(length) < MIN_BYTES) return res;
  const headers = new Headers(res.headers);
  // A cache between the console and the browser must keep the plain and the gzipped answer apart.
  headers.append("vary", "accept-encoding");
  if (!acceptsGzip(req.headers.get("accept-encoding")))
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  headers.set("content-encoding", "gzip");
  headers.delete("content-length");
  return new Response(res.body.pipeThrough(new CompressionStream("gzip")), {
    status: res.status,
    statusText: res.statusText,
    headers,
  });
}
