// The HTTP edges of the API: tRPC for the console and REST for automation. The web app's route handlers
// call these, so the rules for who a caller is live here and not in Next.js files.
import { STATUS_CODES } from "node:http";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { createOpenApiFetchHandler } from "trpc-to-openapi";
import { APP_ERROR_HTTP_STATUS } from "@trellis/contracts";
import type { Db } from "@trellis/db";
import { AppError, actorForUser, authenticateToken, type Actor, type Via } from "@trellis/services";
import { appRouter } from "./root.js";
import { describeError, type Context } from "./trpc.js";
import { limitBody, restBodyLimit, trpcBodyLimit } from "./body-limit.js";
import { openApiDocument, REST_BASE_PATH, REST_OPERATIONS } from "./openapi.js";
import { problem } from "./problem.js";

/**
 * The client's address as `trustedProxies` reverse proxies in front of the console report it in
 * X-Forwarded-For, or undefined when none is trusted (0). Each proxy appends the address it got the request
 * from, so the entry `trustedProxies` places from the end is the one the outermost trusted proxy wrote;
 * entries before it were written by the client and prove nothing. A header with fewer entries did not pass
 * through them all: no address.
 */
export function trustedClientAddress(
  forwardedFor: string | null | undefined,
  trustedProxies: number,
): string | undefined {
  if (trustedProxies < 1 || !forwardedFor) return undefined;
  const hops = forwardedFor
    .split(",")
    .map((h) => h.trim())
    .filter((h) => h !== "");
  return hops.length >= trustedProxies ? hops[hops.length - trustedProxies] : undefined;
}

/** How many reverse proxies in front of the console append to X-Forwarded-For (TRELLIS_TRUST_PROXY). */
export interface EdgeOptions {
  trustProxy?: number;
}

/**
 * What the audit log records about where a call came from. The address only when a trusted proxy wrote it:
 * the first X-Forwarded-For entry is whatever the client put there, and an audit trail must not carry an
 * address the caller chose.
 */
function clientMeta(headers: Headers, trustProxy = 0) {
  const ip = trustedClientAddress(headers.get("x-forwarded-for"), trustProxy);
  const userAgent = headers.get("user-agent") ?? undefined;
  return { ...(ip ? { ip } : {}), ...(userAgent ? { userAgent: userAgent.slice(0, 256) } : {}) };
}

/** The CLI says who it is, so the audit log can tell console, CLI and other API clients apart. */
function viaFromRequest(req: Request): Via {
  return req.headers.get("x-trellis-client") === "cli" ? "cli" : "api";
}

async function bearerContext(db: Db, req: Request, trustProxy?: number): Promise<Context> {
  const header = req.headers.get("authorization");
  if (!header) return { db, actor: null, authError: null };
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m)
    return {
      db,
      actor: null,
      authError: new AppError("AUTH_TOKEN_INVALID", "the Authorization header must be 'Bearer <token>'"),
    };
  try {
    const actor = await authenticateToken(db, m[1]!, {
      via: viaFromRequest(req),
      ...clientMeta(req.headers, trustProxy),
    });
    return { db, actor, authError: null };
  } catch (e) {
    if (e instanceof AppError) return { db, actor: null, authError: e };
    throw e;
  }
}

/**
 * A POST without a body (`POST /changes/42/cancel`, as curl or the CLI send it) is a call without input:
 * trpc-to-openapi insists on a JSON content type for every POST, so give it an empty JSON object.
 */
async function withEmptyJsonBody(req: Request): Promise<Request> {
  if (req.method === "GET" || req.method === "HEAD" || req.headers.get("content-type")) return req;
  const body = await req.text();
  const headers = new Headers(req.headers);
  // A body without a content type stays as it is (and is refused as such); only an empty one becomes {}.
  if (body.trim() === "") headers.set("content-type", "application/json");
  return new Request(req.url, { method: req.method, headers, body: body.trim() === "" ? "{}" : body });
}

/** Each REST path template as a pattern, with the methods it has: what a 405 lists in Allow. */
const REST_PATHS: { pattern: RegExp; methods: string[] }[] = [];
for (const op of REST_OPERATIONS) {
  const source = `^${REST_BASE_PATH}${op.path.replace(/\{\w+\}/g, "[^/]+")}/?$`;
  const known = REST_PATHS.find((p) => p.pattern.source === source);
  if (known) known.methods.push(op.method);
  else REST_PATHS.push({ pattern: new RegExp(source), methods: [op.method] });
}

/** The methods a path has, over every template it matches (`/changes/preview` is also `/changes/{id}`). */
function allowedMethods(pathname: string): string[] {
  const methods = new Set<string>();
  for (const p of REST_PATHS) if (p.pattern.test(pathname)) for (const m of p.methods) methods.add(m);
  return [...methods].sort();
}

/** REST under /api/v1: bearer tokens only (no cookies, so no CSRF surface); errors as problem documents. */
export async function handleRestRequest(
  db: Db,
  incoming: Request,
  opts: EdgeOptions = {},
): Promise<Response> {
  // HEAD is GET without the body (RFC 9110 §9.3.2): the same status and headers, whatever the operation says.
  // The OpenAPI handler knows no HEAD operations, and answered 204 for every path.
  if (incoming.method === "HEAD") {
    const res = await handleRestRequest(db, new Request(incoming, { method: "GET" }), opts);
    await res.body?.cancel();
    return new Response(null, { status: res.status, statusText: res.statusText, headers: res.headers });
  }
  const pathname = new URL(incoming.url).pathname;
  // Which operation this is, from the path and method alone: an unknown path is 404 and a known one called
  // with a method it does not have is 405, before anything else is looked at.
  const allow = allowedMethods(pathname);
  if (allow.length === 0)
    return problem(404, { title: "Not Found", code: "NOT_FOUND", detail: `no such endpoint: ${pathname}` });
  if (!allow.includes(incoming.method))
    return problem(
      405,
      {
        title: "Method Not Allowed",
        code: "METHOD_NOT_ALLOWED",
        detail: `${pathname} takes ${allow.join(", ")}, not ${incoming.method}`,
      },
      { allow: allow.join(", ") },
    );
  // Before the token is looked up or a byte of JSON parsed: an oversized body costs nothing but the refusal.
  const limited = await limitBody(incoming, restBodyLimit(pathname));
  if (limited instanceof Response) return limited;
  const req = await withEmptyJsonBody(limited);
  let failure: unknown = null;
  const res = await createOpenApiFetchHandler({
    endpoint: REST_BASE_PATH,
    router: appRouter,
    req,
    createContext: () => bearerContext(db, req, opts.trustProxy),
    onError: ({ error }) => {
      failure = error;
      if (describeError(error).code === "INTERNAL") console.error("[api] internal error:", error);
    },
  });
  if (res.status < 400 || failure === null) return res;
  const d = describeError(failure);
  const status = APP_ERROR_HTTP_STATUS[d.code];
  return problem(status, {
    title: STATUS_CODES[status] ?? "Error",
    code: d.code,
    detail: d.message,
    ...(d.issues ? { issues: d.issues } : {}),
  });
}

/**
 * The context of a call on behalf of a signed-in console user: what /api/trpc gives each call, and what the
 * console's server rendering gives the calls it makes to prefetch a page (apps/web/lib/trpc/server.ts), so a
 * page rendered on the server holds exactly what its browser would have been allowed to fetch. `headers`:
 * the request's, for the audit log's address (behind `trustProxy` proxies) and user agent.
 */
export async function sessionContext(
  db: Db,
  userId: string,
  headers: Headers,
  trustProxy?: number,
): Promise<Context> {
  try {
    const actor: Actor = await actorForUser(db, userId, {
      via: "console",
      ...clientMeta(headers, trustProxy),
    });
    return { db, actor, authError: null };
  } catch (e) {
    if (e instanceof AppError) return { db, actor: null, authError: e };
    throw e;
  }
}

/**
 * Whether a state-changing request comes from the console's own pages. Browsers send Origin on POST and a
 * cross-site form or script cannot forge it; `Origin: null` (a sandboxed frame, a file: page, some
 * redirects) or anything else that is not a URL of this host is refused like any other site.
 */
function fromOwnOrigin(req: Request): boolean {
  const origin = req.headers.get("origin");
  const host = req.headers.get("x-forwarded-host") ?? req.headers.get("host");
  if (origin === null || host === null) return false;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return false;
  }
  const fetchSite = req.headers.get("sec-fetch-site");
  return originHost === host && (fetchSite === null || fetchSite === "same-origin");
}

/**
 * tRPC for the console. The session is a next-auth cookie, so state-changing calls must come from our own
 * origin. `sessionUserId` may be a function, so that reading the session (a JWT to verify) waits until the
 * origin and the body size have been checked.
 */
export async function handleTrpcRequest(
  db: Db,
  incoming: Request,
  opts: EdgeOptions & {
    endpoint: string;
    sessionUserId: string | null | (() => Promise<string | null>);
  },
): Promise<Response> {
  if (incoming.method !== "GET" && incoming.method !== "HEAD" && !fromOwnOrigin(incoming)) {
    return problem(403, {
      title: "cross-site request refused",
      code: "FORBIDDEN",
      detail: "state-changing calls must come from the console's own origin",
    });
  }
  const procedures = new URL(incoming.url).pathname.slice(opts.endpoint.length + 1);
  const req = await limitBody(incoming, trpcBodyLimit(procedures));
  if (req instanceof Response) return req;
  const sessionUserId =
    typeof opts.sessionUserId === "function" ? await opts.sessionUserId() : opts.sessionUserId;
  return fetchRequestHandler({
    endpoint: opts.endpoint,
    router: appRouter,
    req,
    createContext: () =>
      sessionUserId
        ? sessionContext(db, sessionUserId, req.headers, opts.trustProxy)
        : bearerContext(db, req, opts.trustProxy),
    onError: ({ error }) => {
      if (describeError(error).code === "INTERNAL") console.error("[trpc] internal error:", error);
    },
  });
}

/**
 * GET /api/openapi.json. `publicUrl` is the console's configured public URL (NEXTAUTH_URL): the document's
 * server is that address. Without one, the address the request came to.
 */
export function handleOpenApiRequest(req: Request, opts: { publicUrl?: string } = {}): Response {
  return Response.json(openApiDocument(opts.publicUrl ?? new URL(req.url).origin));
}
