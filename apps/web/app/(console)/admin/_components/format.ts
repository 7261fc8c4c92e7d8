// Small display helpers shared by the admin tables.
import { ALL_NAMESPACES, type RoleBinding } from "@trellis/contracts";

export function when(iso: string | null, never = "never"): string {
  if (!iso) return never;
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function scope(namespace: string | null): string {
  return namespace === null || namespace === ALL_NAMESPACES ? "all namespaces" : namespace;
}

export function binding(b: RoleBinding): string {
  return `${b.role} in ${scope(b.namespace)}`;
}

/** active, revoked or expired, for tokens. */
export function tokenState(t: { revokedAt: string | null; expiresAt: string | null }): string {
  if (t.revokedAt) return "revoked";
  if (t.expiresAt && new Date(t.expiresAt).getTime() <= Date.now()) return "expired";
  return "active";
}

/** Form values as the API wants them: trimmed, and empty fields absent. */
export function optional(v: FormDataEntryValue | null): string | undefined {
  const s = typeof v === "string" ? v.trim() : "";
  return s === "" ? undefined : s;
}
