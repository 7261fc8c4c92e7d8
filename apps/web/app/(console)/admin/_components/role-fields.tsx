"use client";
import "@/lib/zod-jitless";
import { useState } from "react";
import { ALL_NAMESPACES, ROLES, ZNamespace, ZRoleBindingInput, type RoleBinding } from "@trellis/contracts";
import { FieldError, zodFieldErrors, type FieldErrors } from "./errors";

/**
 * Role, namespace and "all namespaces": the fields of a role binding, shared by "create user" and "grant".
 * "All namespaces" is a box to tick, never what an empty namespace field means, so nobody grants `*` by
 * forgetting to type.
 */
export function RoleFields({
  idPrefix,
  allowAll,
  optionalRole,
  namespaces,
  errors,
}: {
  idPrefix: string;
  /** Only admins of every namespace may grant on `*`. */
  allowAll: boolean;
  /** Offer "no role" (creating a user without one). */
  optionalRole?: boolean;
  /** Suggestions for the namespace field. */
  namespaces: readonly string[];
  errors: FieldErrors;
}) {
  const [all, setAll] = useState(false);
  const listId = `${idPrefix}-namespaces`;
  return (
    <>
      <label>
        Role
        <select name="role" defaultValue={optionalRole ? "" : "viewer"}>
          {optionalRole && <option value="">(no role yet)</option>}
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <div className="admin-field">
        <label>
          Namespace
          <input
            name="namespace"
            list={listId}
            disabled={all}
            aria-invalid={errors.namespace ? true : undefined}
            aria-describedby={errors.namespace ? `${idPrefix}-namespace-error` : undefined}
          />
        </label>
        <FieldError id={`${idPrefix}-namespace-error`} message={errors.namespace} />
      </div>
      <datalist id={listId}>
        {namespaces.map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
      {allowAll && (
        <label className="admin-check">
          <input type="checkbox" name="all" checked={all} onChange={(e) => setAll(e.target.checked)} />
          All namespaces
        </label>
      )}
    </>
  );
}

/**
 * Reads RoleFields' values: null when no role was chosen (optional role), else the binding, validated
 * with the contract's schema.
 */
export function readBinding(form: FormData): { binding: RoleBinding | null; errors: FieldErrors } {
  const role = String(form.get("role") ?? "");
  if (role === "") return { binding: null, errors: {} };
  const all = form.get("all") === "on";
  const namespace = all ? ALL_NAMESPACES : String(form.get("namespace") ?? "").trim();
  if (namespace === "")
    return { binding: null, errors: { namespace: "enter a namespace, or tick All namespaces" } };
  // The namespace alone first: the binding's union (name or `*`) would only say "invalid input".
  const ns = all ? null : ZNamespace.safeParse(namespace);
  if (ns && !ns.success) return { binding: null, errors: { namespace: ns.error.issues[0]!.message } };
  const r = ZRoleBindingInput.safeParse({ role, namespace });
  if (!r.success) return { binding: null, errors: zodFieldErrors(r.error) };
  return { binding: r.data, errors: {} };
}
