import type { FieldIssue } from "@trellis/contracts";

/** What the server said went wrong: its message, its stable code and field issues when it sent them. */
export interface ApiError {
  message: string;
  code: string | null;
  issues: FieldIssue[];
}

/**
 * The console's one decoder of a failed call (a tRPC error shaped by errorFormatter in packages/api/src/trpc.ts):
 * every form and page reads the server's message, code and issues through it.
 */
export function apiError(e: unknown): ApiError {
  const err = e as { message?: string; data?: { appCode?: string; issues?: FieldIssue[] | null } } | null;
  return {
    message: err?.message ?? String(e),
    code: err?.data?.appCode ?? null,
    issues: err?.data?.issues ?? [],
  };
}

export function ApiErrorAlert({ error }: { error: unknown }) {
  if (!error) return null;
  const e = apiError(error);
  return (
    <div role="alert" className="error">
      {e.message}
      {e.issues.length > 0 && (
        <ul>
          {e.issues.map((i, n) => (
            <li key={n}>
              <code>{i.path}</code>: {i.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
