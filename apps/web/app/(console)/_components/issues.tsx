import type { FieldIssue } from "@trellis/contracts";

/** What this list prints of an issue: its path as people read it (the editor passes document-relative ones). */
type ShownIssue = Pick<FieldIssue, "path" | "message">;

/** Validation problems with their paths: errors block, warnings inform. */
export function Issues({
  errors,
  warnings,
}: {
  errors: readonly ShownIssue[];
  warnings: readonly ShownIssue[];
}) {
  if (errors.length === 0 && warnings.length === 0) return null;
  return (
    <div className="issues">
      {errors.length > 0 && (
        <ul aria-label="Errors" className="error">
          {errors.map((e, i) => (
            <li key={i}>
              <code>{e.path || "(document)"}</code>: {e.message}
            </li>
          ))}
        </ul>
      )}
      {warnings.length > 0 && (
        <ul aria-label="Warnings" className="warning">
          {warnings.map((w, i) => (
            <li key={i}>
              <code>{w.path || "(document)"}</code>: {w.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
