"use client";
// The signed-in user's API tokens: create (the secret is shown once), list, revoke. Everyone has this page:
// a token never carries more than its owner's rights, which the server checks at creation and on every use.
import "@/lib/zod-jitless";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import {
  ROLES,
  roleRank,
  ZApiTokenCreateInput,
  type ApiTokenCreated,
  type ApiTokenCreateInput,
} from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";
import { ConfirmButton } from "./confirm-button";
import { apiError } from "../../_components/api-error";
import { ErrorAlert, FieldError, fieldErrors, zodFieldErrors, type FieldErrors } from "./errors";
import { optional, scope, tokenState, when } from "./format";
import { ShownOnce } from "./shown-once";
import { useRights } from "./use-me";

export const LIFETIMES = [
  { value: "", label: "never (until revoked)" },
  { value: "1d", label: "1 day" },
  { value: "7d", label: "7 days" },
  { value: "30d", label: "30 days" },
  { value: "90d", label: "90 days" },
];

export function ApiTokens() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const { rights } = useRights();
  const tokens = useQuery(trpc.apiToken.list.queryOptions({}));
  const [created, setCreated] = useState<ApiTokenCreated | null>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const refresh = () => qc.invalidateQueries(trpc.apiToken.list.queryFilter());
  const create = useMutation(
    trpc.apiToken.create.mutationOptions({
      onSuccess: (t) => {
        setCreated(t);
        void refresh();
      },
      onError: (e) => setErrors(fieldErrors(apiError(e).issues)),
    }),
  );
  const revoke = useMutation(trpc.apiToken.revoke.mutationOptions({ onSuccess: refresh }));

  // Roles up to the highest the user holds anywhere; the server still checks the namespace.
  const top = Math.max(-1, ...(rights?.me.effective.map((b) => roleRank(b.role)) ?? []));
  const roles = ROLES.filter((r) => roleRank(r) <= top);

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    const form = new FormData(formEl);
    const input: ApiTokenCreateInput = {
      name: optional(form.get("name")) ?? "",
      role: optional(form.get("role")) as ApiTokenCreateInput["role"],
      namespace: optional(form.get("namespace")),
      expiresIn: optional(form.get("expiresIn")),
    };
    const r = ZApiTokenCreateInput.safeParse(input);
    setErrors(r.success ? {} : zodFieldErrors(r.error));
    setCreated(null);
    create.reset();
    if (r.success) create.mutate(input, { onSuccess: () => formEl.reset() });
  }

  const field = (name: string) => ({
    name,
    "aria-invalid": errors[name] ? true : undefined,
    "aria-describedby": errors[name] ? `token-${name}-error` : undefined,
  });
  return (
    <>
      {created ? (
        <ShownOnce
          title={`New API token "${created.name}"`}
          label="API token"
          copyLabel="Copy token"
          secret={created.token}
          onDone={() => setCreated(null)}
        >
          <p>
            Use it as <code>Authorization: Bearer …</code>, or <code>TRELLIS_TOKEN=…</code> for the CLI.
          </p>
        </ShownOnce>
      ) : (
        <form
          className="admin-panel admin-form"
          aria-labelledby="new-token-title"
          onSubmit={onSubmit}
          noValidate
        >
          <h2 id="new-token-title">Create an API token</h2>
          <div className="admin-grid">
            <div className="admin-field">
              <label>
                Token name
                <input {...field("name")} autoComplete="off" placeholder="e.g. ci-deploy" />
              </label>
              <FieldError id="token-name-error" message={errors.name} />
            </div>
            <div className="admin-field">
              <label>
                Narrow to role
                <select {...field("role")} defaultValue="">
                  <option value="">(all my rights)</option>
                  {roles.map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </select>
              </label>
              <FieldError id="token-role-error" message={errors.role} />
            </div>
            <div className="admin-field">
              <label>
                Narrow to namespace
                <input {...field("namespace")} autoComplete="off" placeholder="(all my namespaces)" />
              </label>
              <FieldError id="token-namespace-error" message={errors.namespace} />
            </div>
            <div className="admin-field">
              <label>
                Expires after
                <select {...field("expiresIn")} defaultValue="90d">
                  {LIFETIMES.map((l) => (
                    <option key={l.value} value={l.value}>
                      {l.label}
                    </option>
                  ))}
                </select>
              </label>
              <FieldError id="token-expiresIn-error" message={errors.expiresIn} />
            </div>
          </div>
          <ErrorAlert error={create.error} label="The token was not created" />
          <div className="admin-buttons">
            <button type="submit" disabled={create.isPending}>
              {create.isPending ? "Creating…" : "Create token"}
            </button>
          </div>
        </form>
      )}

      <ErrorAlert error={revoke.error} label="Not revoked" />
      {tokens.isError && <ErrorAlert error={tokens.error} label="Could not load your tokens" />}
      {tokens.isPending && <p className="admin-muted">Loading tokens…</p>}
      {tokens.data &&
        (tokens.data.items.length === 0 ? (
          <div className="admin-empty">You have no API tokens yet.</div>
        ) : (
          <table aria-label="Your API tokens" className="admin-table">
            <caption>Your API tokens</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Prefix</th>
                <th scope="col">Rights</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="admin-sr">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.items.map((t) => {
                const state = tokenState(t);
                return (
                  <tr key={t.id}>
                    <th scope="row">{t.name}</th>
                    <td>
                      <code>{t.prefix}…</code>
                    </td>
                    <td>
                      {t.role ?? "all my roles"} in {scope(t.namespace)}
                    </td>
                    <td>{when(t.createdAt)}</td>
                    <td>{when(t.lastUsedAt)}</td>
                    <td>{when(t.expiresAt)}</td>
                    <td>
                      <span className={`admin-pill ${state === "active" ? "ok" : "bad"}`}>{state}</span>
                    </td>
                    <td>
                      {state === "active" && (
                        <ConfirmButton
                          label={`Revoke ${t.name}`}
                          question={`Revoke "${t.name}"? Scripts using it stop working at once.`}
                          confirmLabel="Yes, revoke"
                          busy={revoke.isPending}
                          onConfirm={() => revoke.mutate({ id: t.id })}
                        />
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ))}
    </>
  );
}
