// tRPC setup: context, error mapping and the procedure builders. Edit when adding a new kind of procedure
// (e.g. a role-specific builder) or a field every procedure needs in its context.
import { initTRPC, TRPCError } from "@trpc/server";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";
import type { OpenApiMeta } from "trpc-to-openapi";
import { APP_ERROR_HTTP_STATUS, type AppErrorCode, type FieldIssue } from "@trellis/contracts";
import type { Db } from "@trellis/db";
import { AppError, isAppError, type Actor } from "@trellis/services";

export interface Context {
  db: Db;
  /** Null when the request carries no valid session or token. */
  actor: Actor | null;
  /** Set when a bearer token was sent but is invalid: reported as such, not as "sign in". */
  authError: AppError | null;
}

/**
 * What a procedure's `.meta()` holds: trpc-to-openapi's `openapi`, and `errors`, the codes the procedure's
 * services can throw beyond those its shape implies (a token: 401/403; input: 422; a path parameter: 404; a
 * body: 413/415). The OpenAPI document lists a response for each (openapi.ts).
 */
export type TrellisMeta = OpenApiMeta<{ errors?: AppErrorCode[] }>;

const TRPC_CODE_FOR_STATUS: Record<number, TRPC_ERROR_CODE_KEY> = {
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_SUPPORTED",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  422: "UNPROCESSABLE_CONTENT",
  429: "TOO_MANY_REQUESTS",
  500: "INTERNAL_SERVER_ERROR",
  503: "SERVICE_UNAVAILABLE",
};

/** AppError → TRPCError, keeping the AppError as the cause so formatters can read its code and issues. */
export function toTRPCError(e: AppError): TRPCError {
  const code = TRPC_CODE_FOR_STATUS[APP_ERROR_HTTP_STATUS[e.code]] ?? "INTERNAL_SERVER_ERROR";
  return new TRPCError({ code, message: e.message, cause: e });
}

/** The stable code and field issues of any error that reached the API edge. */
export function describeError(err: unknown): { code: AppErrorCode; message: string; issues?: FieldIssue[] } {
  const cause = err instanceof TRPCError ? err.cause : err;
  if (isAppError(cause))
    return { code: cause.code, message: cause.message, ...(cause.issues ? { issues: cause.issues } : {}) };
  if (err instanceof TRPCError) {
    if (err.code === "BAD_REQUEST" || err.code === "PARSE_ERROR") {
      const zodIssues = (err.cause as { issues?: { path: PropertyKey[]; message: string }[] } | undefined)
        ?.issues;
      return {
        code: "VALIDATION_FAILED",
        message: "the request is not valid",
        ...(zodIssues
          ? { issues: zodIssues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })) }
          : {}),
      };
    }
    if (err.code === "NOT_FOUND") return { code: "NOT_FOUND", message: err.message };
    if (err.code === "UNAUTHORIZED") return { code: "AUTH_REQUIRED", message: err.message };
    if (err.code === "FORBIDDEN") return { code: "FORBIDDEN", message: err.message };
    if (err.code === "PAYLOAD_TOO_LARGE") return { code: "PAYLOAD_TOO_LARGE", message: err.message };
    if (err.code === "UNSUPPORTED_MEDIA_TYPE")
      return { code: "UNSUPPORTED_MEDIA_TYPE", message: err.message };
    if (err.code === "METHOD_NOT_SUPPORTED") return { code: "METHOD_NOT_ALLOWED", message: err.message };
  }
  return { code: "INTERNAL", message: "internal error" };
}

const t = initTRPC
  .context<Context>()
  .meta<TrellisMeta>()
  .create({
    errorFormatter({ shape, error }) {
      const d = describeError(error);
      return {
        ...shape,
        message: d.code === "INTERNAL" ? "internal error" : shape.message,
        data: { ...shape.data, appCode: d.code, issues: d.issues ?? null, stack: undefined },
      };
    },
  });

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Turns AppErrors thrown by services into TRPCErrors with the right status. */
const mapAppErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && isAppError(result.error.cause)) throw toTRPCError(result.error.cause);
  return result;
});

export const publicProcedure = t.procedure.use(mapAppErrors);

/** Every procedure that touches data: a signed-in user or a valid API token. Rights are checked in services. */
export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.actor) {
    throw toTRPCError(
      ctx.authError ??
        new AppError("AUTH_REQUIRED", "sign in, or send an API token as 'Authorization: Bearer <token>'"),
    );
  }
  return next({ ctx: { ...ctx, actor: ctx.actor } });
});
