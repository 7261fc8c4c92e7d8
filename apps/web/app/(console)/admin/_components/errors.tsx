"use client";
// How the admin pages show what went wrong: the server's message and stable code, field issues beside
// their fields, and client-side (zod) issues in the same shape.
import type { z } from "zod";
import type { FieldIssue } from "@trellis/contracts";
import { zodIssues } from "@trellis/contracts";
import { apiError } from "../../_components/api-error";

/** Field errors by top-level field name, from a zod error or the server's issues. */
export type FieldErrors = Record<string, string>;

export function fieldErrors(issues: readonly FieldIssue[]): FieldErrors {
  const out: FieldErrors = {};
  for (const i of issues) out[String(i.at.path[0] ?? "")] ??= i.message;
  return out;
}

/** The form's own check, in the server's shape: the same issues the API would have answered with. */
export function zodFieldErrors(error: z.ZodError): FieldErrors {
  return fieldErrors(zodIssues(error));
}

/** The server's refusal or failure, announced to screen readers. */
export function ErrorAlert({ error, label }: { error: unknown; label?: string }) {
  if (!error) return null;
  const e = apiError(error);
  return (
    <div role="alert" className="admin-error">
      {label ? `${label}: ` : ""}
      {e.message}
      {e.code && <span className="admin-code"> ({e.code})</span>}
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

/** One field's error under it; `id` is what the input's aria-describedby points at. */
export function FieldError({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <span id={id} className="admin-field-error">
      {message}
    </span>
  );
}
