// For tests of the demo wherever it runs (in this process, or in pods): what a browser would fetch.
import { request } from "node:http";
import { REVIEWS_HEADER } from "./apps.js";

/**
 * GET a page through the demo's ingress (with `headers`, e.g. a sampled `traceparent`): status 0 when nothing
 * answered; `reviews` says which version did.
 */
export function getPage(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; reviews: string; body: string }> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 5_000, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, reviews: String(res.headers[REVIEWS_HEADER] ?? ""), body }),
      );
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve({ status: 0, reviews: "", body: "" }));
    req.end();
  });
}
