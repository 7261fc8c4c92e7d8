import type { FieldIssue } from "@trellis/contracts";

/** What the server said went wrong: its message, its stable code and field issues when it sent them. */
export function apiError(e: unknown): { message: string; code: string | null; issues: FieldIssue[] } {
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
