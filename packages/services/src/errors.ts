import type { AppErrorCode, FieldIssue } from "@trellis/contracts";

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
