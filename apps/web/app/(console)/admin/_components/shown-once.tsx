"use client";
import type { ReactNode } from "react";
import { CopyButton } from "./copy-button";

/**
 * A secret the server returns exactly once (API token, join token, generated password). It is kept only in
 * this component's props: closing it forgets it for good.
 */
export function ShownOnce({
  title,
  label,
  copyLabel,
  secret,
  onDone,
  children,
}: {
  title: string;
  label: string;
  copyLabel: string;
  secret: string;
  onDone: () => void;
  children?: ReactNode;
}) {
  return (
    <section className="admin-once" aria-label={title}>
      <h2>{title}</h2>
      <p className="admin-warning">
        <strong>Copy it now: you will not see it again.</strong> Trellis keeps only a hash of it.
      </p>
      <label>
        {label}
        <input readOnly value={secret} className="admin-mono" onFocus={(e) => e.currentTarget.select()} />
      </label>
      <div className="admin-buttons">
        <CopyButton text={secret} label={copyLabel} />
      </div>
      {children}
      <div className="admin-buttons">
        <button type="button" className="secondary" onClick={onDone}>
          Done, I have copied it
        </button>
      </div>
    </section>
  );
}
