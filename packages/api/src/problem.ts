// The one way an HTTP error leaves the API: an RFC 9457 problem document shaped by ZProblem, the schema the
// OpenAPI document also describes every error response with (see openapi.ts). Edit both sides through ZProblem.
import type { Problem } from "@trellis/contracts";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export function problem(
  status: number,
  body: Omit<Problem, "type" | "status">,
  headers: Record<string, string> = {},
): Response {
  const doc: Problem = { type: "about:blank", status, ...body };
  return new Response(JSON.stringify(doc), {
    status,
    headers: {
      "content-type": PROBLEM_CONTENT_TYPE,
      ...(status === 401 ? { "www-authenticate": 'Bearer realm="trellis"' } : {}),
      ...headers,
    },
  });
}
