import type { FieldIssue, Problem } from "@trellis/contracts";

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

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

const isFieldIssue = (v: unknown): v is FieldIssue =>
  isRecord(v) &&
  typeof v.path === "string" &&
  typeof v.message === "string" &&
  isRecord(v.at) &&
  Array.isArray(v.at.path);

/**
 * Whether a JSON answer is a problem document (contracts' ZProblem), checked by hand: this module is on every
 * console page, and ZProblem would bring zod to pages that have no form (decision 021). Looser than ZProblem in
 * one way, on purpose: any string is taken as the code, so a code newer than this console still shows.
 * api-error.test.ts holds the two to the same answers otherwise.
 */
export function isProblem(v: unknown): v is Problem {
  return (
    isRecord(v) &&
    typeof v.type === "string" &&
    typeof v.title === "string" &&
    typeof v.status === "number" &&
    Number.isInteger(v.status) &&
    typeof v.code === "string" &&
    (v.detail === undefined || typeof v.detail === "string") &&
    (v.issues === undefined || (Array.isArray(v.issues) && v.issues.every(isFieldIssue)))
  );
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
  const problem = err.meta?.responseJSON;
  if (isProblem(problem))
    return { message: problem.detail ?? problem.title, code: problem.code, issues: problem.issues ?? [] };
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
