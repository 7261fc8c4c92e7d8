"use client";
// Per-namespace settings: how many approvals a change request needs. Anyone who reads a namespace sees its
// setting; admins of the namespace change it. The API has no "list namespaces", so the page offers the
// namespaces it knows (services, role bindings) and any other one typed in.
import "@/lib/zod-jitless";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { ALL_NAMESPACES, ZNamespace, ZNamespaceSettingsSetInput } from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";
import { ErrorAlert, FieldError } from "./errors";
import { when } from "./format";
import { useRights, type Rights } from "./use-me";

export function NamespaceSettingsAdmin() {
  const { rights, error, isPending } = useRights();
  if (isPending) return <p className="admin-muted">Loading…</p>;
  if (!rights) return <ErrorAlert error={error} />;
  return <Settings rights={rights} />;
}

function Settings({ rights }: { rights: Rights }) {
  const trpc = useTRPC();
  const services = useQuery(trpc.service.list.queryOptions({}));
  // Admins also know the namespaces people hold roles in, before any service runs there.
  const users = useQuery(trpc.user.list.queryOptions({}, { enabled: rights.anyAdmin }));
  const [extra, setExtra] = useState<string[]>([]);
  const [error, setError] = useState<string | undefined>();
  const namespaces = [
    ...new Set([
      ...(services.data?.items.map((s) => s.namespace) ?? []),
      ...rights.me.effective.map((b) => b.namespace),
      ...(users.data?.items.flatMap((u) => u.bindings.map((b) => b.namespace)) ?? []),
      ...extra,
    ]),
  ]
    .filter((n) => n !== ALL_NAMESPACES)
    .sort();

  function onAdd(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    const r = ZNamespace.safeParse(String(new FormData(formEl).get("namespace") ?? "").trim());
    setError(r.success ? undefined : r.error.issues[0]!.message);
    if (!r.success) return;
    setExtra((x) => (x.includes(r.data) ? x : [...x, r.data]));
    formEl.reset();
  }

  return (
    <>
      <p className="admin-muted">
        A change request in a namespace is applied once it has this many approvals, from people other than its
        author who still hold the approver role (1 to 10; 1 when nobody set it). A new value applies to open
        change requests too: approvals are counted when a change is applied, not when it was opened.
      </p>
      {services.isError && <ErrorAlert error={services.error} label="Could not load namespaces" />}
      {namespaces.length === 0 ? (
        <div className="admin-empty">No namespaces known yet: look one up below.</div>
      ) : (
        <table aria-label="Required approvals per namespace" className="admin-table">
          <caption>Required approvals per namespace</caption>
          <thead>
            <tr>
              <th scope="col">Namespace</th>
              <th scope="col">Required approvals</th>
              <th scope="col">Last changed</th>
            </tr>
          </thead>
          <tbody>
            {namespaces.map((ns) => (
              <NamespaceRow key={ns} namespace={ns} canEdit={rights.has("admin", ns)} />
            ))}
          </tbody>
        </table>
      )}
      <form className="admin-panel admin-form" aria-label="Look up a namespace" onSubmit={onAdd} noValidate>
        <div className="admin-grid">
          <div className="admin-field">
            <label>
              Other namespace
              <input
                name="namespace"
                autoComplete="off"
                aria-invalid={error ? true : undefined}
                aria-describedby={error ? "settings-namespace-error" : undefined}
              />
            </label>
            <FieldError id="settings-namespace-error" message={error} />
          </div>
        </div>
        <div className="admin-buttons">
          <button type="submit" className="secondary">
            Show namespace
          </button>
        </div>
      </form>
    </>
  );
}

function NamespaceRow({ namespace, canEdit }: { namespace: string; canEdit: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const settings = useQuery(trpc.settings.get.queryOptions({ namespace }));
  const [error, setError] = useState<string | undefined>();
  const [saved, setSaved] = useState(false);
  const set = useMutation(
    trpc.settings.set.mutationOptions({
      onSuccess: (s) => {
        qc.setQueryData(trpc.settings.get.queryKey({ namespace }), s);
        setSaved(true);
      },
    }),
  );

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const r = ZNamespaceSettingsSetInput.safeParse({
      namespace,
      requiredApprovals: Number(new FormData(e.currentTarget).get("requiredApprovals")),
    });
    setSaved(false);
    set.reset();
    setError(r.success ? undefined : r.error.issues[0]!.message);
    if (r.success) set.mutate(r.data);
  }

  const inputId = `approvals-${namespace}`;
  return (
    <tr>
      <th scope="row">{namespace}</th>
      <td>
        {settings.isError ? (
          <ErrorAlert error={settings.error} />
        ) : !settings.data ? (
          <span className="admin-muted">…</span>
        ) : canEdit ? (
          <form className="admin-inline-form" onSubmit={onSubmit} noValidate>
            <label htmlFor={inputId} className="admin-sr">
              Required approvals in {namespace}
            </label>
            <input
              id={inputId}
              name="requiredApprovals"
              type="number"
              min={1}
              max={10}
              defaultValue={settings.data.requiredApprovals}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? `${inputId}-error` : undefined}
            />
            <button
              type="submit"
              disabled={set.isPending}
              aria-label={`Save required approvals in ${namespace}`}
            >
              Save
            </button>
            <FieldError id={`${inputId}-error`} message={error} />
            {saved && (
              <span role="status" className="admin-ok">
                Saved.
              </span>
            )}
            <ErrorAlert error={set.error} label="Not saved" />
          </form>
        ) : (
          settings.data.requiredApprovals
        )}
      </td>
      <td>{settings.data ? when(settings.data.updatedAt, "never (default)") : ""}</td>
    </tr>
  );
}
