import { ZProblem, type FieldIssue } from "@trellis/contracts";

/** What the server said went wrong: its message, its stable code and field issues when it sent them. */
export interface ApiError {
  message: string;
  code: string | null;
  issues: FieldIssue[];
}

interface FailedCall {
  message?: string;
  cause?: unknown;
  /** A tRPC error, as errorFormatter in packages/api/src/trpc.ts shapes it. */
  data?: { appCode?: string; issues?: FieldIssue[] | null };
  /** The HTTP answer, which tRPC's client keeps beside an error it could not read as its own. */
  meta?: { responseJSON?: unknown; response?: { status?: number } };
}

/**
 * The console's one decoder of a failed call: every form and page reads the server's message, code and issues
 * through it, and shows them with ApiErrorAlert (or the admin pages' ErrorAlert), never an error's raw text.
 * A failed call is one of:
 * - a tRPC error: the message (a problem's `detail`), `data.appCode` and `data.issues`;
 * - a problem document the edge sent before tRPC ran (a cross-site refusal, a body over the limit: http.ts),
 *   which tRPC's client cannot read as its own ("Unable to transform response") but keeps as `responseJSON`;
 * - an answer that is not JSON at all (a proxy's error page), or no answer (the network).
 */
export function apiError(e: unknown): ApiError {
  const err = (typeof e === "object" && e !== null ? e : {}) as FailedCall;
  if (err.data?.appCode)
    return { message: err.message ?? "", code: err.data.appCode, issues: err.data.issues ?? [] };
  const problem = ZProblem.safeParse(err.meta?.responseJSON);
  if (problem.success)
    return {
      message: problem.data.detail ?? problem.data.title,
      code: problem.data.code,
      issues: problem.data.issues ?? [],
    };
  if (err.cause instanceof SyntaxError)
    return { message: "the server's answer could not be read (it is not JSON)", code: null, issues: [] };
  const status = err.meta?.response?.status;
  if (status !== undefined && status >= 400)
    return { message: `the server answered HTTP ${status}`, code: null, issues: [] };
  return { message: err.message ?? String(e), code: null, issues: [] };
}

/** A failed call, announced to screen readers: `label` says what failed ("Could not load proxies"). */
export function ApiErrorAlert({ error, label }: { error: unknown; label?: string }) {
  if (!error) return null;
  const e = apiError(error);
  return (
    <div role="alert" className="error">
      {label ? `${label}: ` : ""}
      {e.message}
      {e.issues.length > 0 && (
        <ul>
          {e.issues.map((i, n) => (
            <li key={n}>
              <code>{i.path || "(input)"}</code>: {i.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
