"use client";
import { useState } from "react";

/**
 * Copies `text` to the clipboard. The clipboard API needs a secure context (https or localhost); elsewhere
 * it says so, and the text stays selectable in its field.
 */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setState("copied");
    } catch {
      setState("failed");
    }
  }
  return (
    <>
      <button type="button" onClick={copy}>
        {label}
      </button>
      <span role="status" className="admin-muted">
        {state === "copied"
          ? "Copied."
          : state === "failed"
            ? "Could not copy: select the text instead."
            : ""}
      </span>
    </>
  );
}
