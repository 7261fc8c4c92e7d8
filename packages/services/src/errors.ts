import { zodIssues, type AppErrorCode, type FieldIssue } from "@trellis/contracts";
import type { z } from "zod";

/**
 * The one error type services throw. The API edge turns it into a tRPC error or a problem document using
 * APP_ERROR_HTTP_STATUS; nothing else inspects messages. Messages are safe to show to the caller.
 */
export class AppError extends Error {
  readonly code: AppErrorCode;
  readonly issues: FieldIssue[] | undefined;
  constructor(code: AppErrorCode, message: string, opts: { issues?: FieldIssue[]; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = "AppError";
    this.code = code;
    this.issues = opts.issues;
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/**
 * The one way a service validates what a caller sent: parse it with its contract schema, or throw
 * VALIDATION_FAILED carrying every issue's path (`spec.rules[0].weight`). Every service entry point that takes
 * outside input parses it here first, since not every caller comes through a validating edge.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success)
    throw new AppError("VALIDATION_FAILED", "the request is not valid", { issues: zodIssues(r.error) });
  return r.data;
}
