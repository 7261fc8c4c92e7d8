// tRPC setup: context, error mapping and the procedure builders. Edit when adding a new kind of procedure
// (e.g. a role-specific builder) or a field every procedure needs in its context.
import { initTRPC, TRPCError } from "@trpc/server";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";
import type { OpenApiMeta } from "trpc-to-openapi";
import type { z } from "zod";
import { APP_ERROR_HTTP_STATUS, zodIssues, type AppErrorCode, type FieldIssue } from "@trellis/contracts";
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

/**
 * The stable code, message and field issues of any error that reached the API edge: what the console's tRPC
 * errors (errorFormatter below) and REST's problem documents (http.ts) both say, so that one mistake reads the
 * same on either. Input the procedure's schema refused comes as VALIDATION_FAILED with the schema's issues,
 * built as services build theirs (contracts' zodIssues), never as the ZodError's own text.
 */
export function describeError(err: unknown): { code: AppErrorCode; message: string; issues?: FieldIssue[] } {
  const cause = err instanceof TRPCError ? err.cause : err;
  if (isAppError(cause))
    return { code: cause.code, message: cause.message, ...(cause.issues ? { issues: cause.issues } : {}) };
  if (err instanceof TRPCError) {
    if (err.code === "BAD_REQUEST" || err.code === "PARSE_ERROR") {
      // tRPC keeps the schema's error (a ZodError, or a Standard Schema error) as the cause.
      const schemaError = err.cause as Parameters<typeof zodIssues>[0] | undefined;
      return {
        code: "VALIDATION_FAILED",
        message: "the request is not valid",
        ...(Array.isArray(schemaError?.issues) ? { issues: zodIssues(schemaError) } : {}),
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
      // The message is describeError's, as REST's `detail` is: never a ZodError's JSON dump of its issues,
      // never an internal error's text.
      return {
        ...shape,
        message: d.message,
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

/**
 * `schema` for a procedure's `.output()`, checked with zod's synchronous parse. tRPC checks every answer with
 * `parseAsync`, and zod 4 runs its compiled object parsers only when parsing synchronously: for the graph's
 * 2,000 edges `parseAsync` took 3.0 ms and `parse` 0.6 (on a loaded machine), the same checks either way. For
 * schemas without async refinements (a sync parse throws on those); the copy documents as the original does.
 */
export function syncOutput<T extends z.ZodType>(schema: T): T {
  const copy = schema.clone() as T;
  copy.parseAsync = async (data, params) => copy.parse(data, params);
  return copy;
}
