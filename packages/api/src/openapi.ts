// The OpenAPI document for everything under /api/v1. Edit when the REST edge learns a new way to fail (a
// status every operation of some shape can answer), or to change what the document says about errors.
//
// trpc-to-openapi derives the paths, parameters and success bodies from the procedures. Its error responses
// describe its own error body (`application/json {message, code}`), which is not what http.ts sends, so they
// are replaced here: every error response is `application/problem+json` with the schema ZProblem, the one the
// error formatter (problem.ts) is typed by, and each operation lists every status it can answer.
import { generateOpenApiDocument, type OpenApiMeta } from "trpc-to-openapi";
import { APP_ERROR_HTTP_STATUS, ZProblem, type AppErrorCode } from "@trellis/contracts";
import { CHANGE_UPLOAD_BODY_LIMIT, DEFAULT_BODY_LIMIT, restBodyLimit } from "./body-limit.js";
import { PROBLEM_CONTENT_TYPE } from "./problem.js";
import { appRouter } from "./root.js";
import type { TrellisMeta } from "./trpc.js";

export const REST_BASE_PATH = "/api/v1";

type Operation = { responses: Record<string, unknown>; parameters?: unknown[]; requestBody?: unknown };
type Document = ReturnType<typeof generateOpenApiDocument> & {
  paths: Record<string, Record<string, Operation>>;
};

/** One procedure as REST sees it. */
interface RestOperation {
  method: string;
  path: string;
  meta: TrellisMeta;
}

type Procedure = { _def: { meta?: TrellisMeta } };

/** Every REST operation, from the procedures' `.meta({ openapi })`. */
export const REST_OPERATIONS: readonly RestOperation[] = Object.values(
  // tRPC 11 keeps the procedures in one flat record keyed by dotted path; the declared type is nested.
  appRouter._def.procedures as unknown as Record<string, Procedure>,
).flatMap((p) => {
  const o = p._def.meta?.openapi as OpenApiMeta["openapi"];
  return o && o.enabled !== false ? [{ method: o.method, path: o.path, meta: p._def.meta! }] : [];
});

const STATUS_TEXT: Record<number, string> = {
  401: "Not signed in: no token, or a token that is invalid, expired or revoked",
  403: "Not allowed: your role or your token's scope does not permit this",
  404: "No such object",
  405: "Method not allowed",
  409: "Conflicts with the current state",
  413: "Request body too large",
  415: "The body is not JSON (send `Content-Type: application/json`)",
  422: "Invalid input: `issues` locates each invalid field (`at`) and names it (`path`)",
  429: "Too many attempts: wait and try again",
  500: "Internal error",
};

/**
 * The error statuses one operation can answer: from its shape (a token, input, a path parameter, a body) and
 * the codes its procedure declares in `meta.errors` beyond those.
 */
function errorStatuses(op: RestOperation, doc: Operation): Map<number, Set<AppErrorCode>> {
  const codes: AppErrorCode[] = ["INTERNAL"];
  if (op.meta.openapi?.protect) codes.push("AUTH_REQUIRED", "AUTH_TOKEN_INVALID", "FORBIDDEN");
  // A body that is not JSON, or not an object of the input's shape, is refused before the procedure runs.
  if (doc.requestBody) codes.push("PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "VALIDATION_FAILED");
  if (doc.parameters?.length) codes.push("VALIDATION_FAILED");
  if (op.path.includes("{")) codes.push("NOT_FOUND");
  codes.push(...(op.meta.errors ?? []));
  const byStatus = new Map<number, Set<AppErrorCode>>();
  for (const c of codes) {
    const s = APP_ERROR_HTTP_STATUS[c];
    byStatus.set(s, (byStatus.get(s) ?? new Set()).add(c));
  }
  return byStatus;
}

function problemResponse(status: number, codes: Iterable<AppErrorCode>) {
  return {
    description: `${STATUS_TEXT[status] ?? "Error"} (code: ${[...codes].join(", ")})`,
    ...(status === 401
      ? {
          headers: {
            "WWW-Authenticate": { schema: { type: "string" }, description: 'Bearer realm="trellis"' },
          },
        }
      : {}),
    content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: "#/components/schemas/Problem" } } },
  };
}

function generate(): Document {
  const doc = generateOpenApiDocument(appRouter, {
    title: "Trellis API",
    description: [
      "Automation API for the Trellis service mesh. Authenticate with `Authorization: Bearer <token>`.",
      "",
      "Every error is an RFC 9457 problem document (`application/problem+json`, schema `Problem`): branch on",
      "`code`, show `detail`, and find invalid fields by `issues[].at` (`{ doc, path: [keys and indexes] }`;",
      "`issues[].path` is the same place as text, for people). A known path called with a method it",
      "does not have answers 405 with an `Allow` header. Request bodies may be at most",
      `${DEFAULT_BODY_LIMIT} bytes (${CHANGE_UPLOAD_BODY_LIMIT} for \`POST /changes\` and \`/changes/preview\`);`,
      "a longer one is refused with 413 before it is read.",
    ].join("\n"),
    version: "1.0.0",
    baseUrl: REST_BASE_PATH,
    securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    defs: { Problem: ZProblem },
  }) as Document;
  for (const op of REST_OPERATIONS) {
    const operation = doc.paths[op.path]?.[op.method.toLowerCase()];
    if (!operation) throw new Error(`openapi: ${op.method} ${op.path} is missing from the document`);
    for (const status of Object.keys(operation.responses))
      if (!status.startsWith("2")) delete operation.responses[status];
    const statuses = [...errorStatuses(op, operation)].sort(([a], [b]) => a - b);
    for (const [status, codes] of statuses)
      operation.responses[String(status)] = problemResponse(status, codes);
    if (operation.requestBody) {
      (operation as { "x-body-limit"?: number })["x-body-limit"] = restBodyLimit(
        `${REST_BASE_PATH}${op.path}`,
      );
    }
  }
  // trpc-to-openapi's own error bodies, now referenced by nothing.
  const schemas = (doc.components?.schemas ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(schemas)) if (name.startsWith("error.")) delete schemas[name];
  return doc;
}

let doc: Document | undefined;

/**
 * The OpenAPI document, with `servers[0]` at `publicUrl` (the console's configured public URL, NEXTAUTH_URL):
 * a client generated from it must call the address people use, not whatever Host or X-Forwarded-Proto the
 * request that fetched the document carried.
 */
export function openApiDocument(publicUrl: string) {
  doc ??= generate();
  return { ...doc, servers: [{ url: new URL(REST_BASE_PATH, publicUrl).toString() }] };
}
