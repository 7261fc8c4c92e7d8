"use client";
// Validation as the author types: `change.preview` (the same procedure, the same checks as opening the
// change) runs 300 ms after the last edit. Schema problems come back as a CHANGE_INVALID error with issues,
// semantic ones inside the preview; both become the editor's issues. Only the answer for the newest text is
// kept, so a slow answer to an old text never replaces a newer one.
import { useMutation } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import type { ChangePreview, ChangePreviewInput } from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";
import { apiError } from "../../_components/api-error";
import { placeIssues, type EditorIssue } from "./editor-issues";

export const VALIDATE_DELAY_MS = 300;

export interface Checked {
  /** What was checked (the request body, as JSON). */
  key: string;
  /** Null when the change did not pass its schema (then `errors` says why) or the check failed. */
  preview: ChangePreview | null;
  errors: EditorIssue[];
  warnings: EditorIssue[];
  /** A failure that is not about the change (no permission, server unreachable). */
  failure: unknown;
}

export function useLiveValidation(body: ChangePreviewInput | null, delayMs = VALIDATE_DELAY_MS) {
  const trpc = useTRPC();
  const { mutateAsync } = useMutation(trpc.change.preview.mutationOptions());
  const key = body === null ? null : JSON.stringify(body);
  const [checked, setChecked] = useState<Checked | null>(null);
  const latest = useRef<string | null>(null);

  const run = useCallback(
    async (b: ChangePreviewInput, k: string) => {
      latest.current = k;
      let result: Checked;
      try {
        const preview = await mutateAsync(b);
        result = {
          key: k,
          preview,
          errors: placeIssues(preview.validation.errors, "error"),
          warnings: placeIssues(preview.validation.warnings, "warning"),
          failure: null,
        };
      } catch (e) {
        const err = apiError(e);
        result =
          err.code === "CHANGE_INVALID"
            ? {
                key: k,
                preview: null,
                errors:
                  err.issues.length > 0
                    ? placeIssues(err.issues, "error")
                    : [{ severity: "error", doc: null, path: [], message: err.message }],
                warnings: [],
                failure: null,
              }
            : { key: k, preview: null, errors: [], warnings: [], failure: e };
      }
      if (latest.current === k) setChecked(result);
    },
    [mutateAsync],
  );

  // `body` is a new object on every render; its JSON says when it changed, and is what is sent.
  useEffect(() => {
    if (key === null) {
      latest.current = null;
      return;
    }
    const t = setTimeout(() => void run(JSON.parse(key) as ChangePreviewInput, key), delayMs);
    return () => clearTimeout(t);
  }, [key, delayMs, run]);

  return {
    /** The newest answer; it may be for an older text while `checking`. */
    checked: key === null ? null : checked,
    /** Whether the text shown has not been checked yet. */
    checking: key !== null && checked?.key !== key,
    /** Check now, without waiting for the pause in typing. */
    checkNow: () => {
      if (body !== null && key !== null) void run(body, key);
    },
  };
}
