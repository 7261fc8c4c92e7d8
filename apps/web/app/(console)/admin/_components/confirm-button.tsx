"use client";
import { useState } from "react";

/**
 * A destructive action behind a second click: the first shows the question and the real button, so a
 * stray click (or Enter) does nothing irreversible.
 */
export function ConfirmButton({
  label,
  question,
  confirmLabel,
  busy,
  onConfirm,
}: {
  label: string;
  question: string;
  confirmLabel: string;
  busy?: boolean;
  onConfirm: () => void;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button type="button" className="admin-danger" onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  return (
    <span className="admin-confirm" role="group" aria-label={question}>
      <span>{question}</span>
      <button
        type="button"
        className="admin-danger"
        disabled={busy}
        onClick={() => {
          onConfirm();
          setAsking(false);
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" className="secondary" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
