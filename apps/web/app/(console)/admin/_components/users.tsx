"use client";
// Users and their role bindings. What a button is offered for follows `user.me` (mesh admins manage users;
// namespace admins grant and revoke in their namespaces); the services layer decides every call.
import "@/lib/zod-jitless";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import {
  ALL_NAMESPACES,
  hasRole,
  ZPassword,
  ZUserCreateInput,
  type RoleBinding,
  type UserSummary,
} from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";
import { ConfirmButton } from "./confirm-button";
import { apiError } from "../../_components/api-error";
import { ErrorAlert, FieldError, fieldErrors, zodFieldErrors, type FieldErrors } from "./errors";
import { binding, optional, when } from "./format";
import { Refused } from "./refused";
import { readBinding, RoleFields } from "./role-fields";
import { ShownOnce } from "./shown-once";
import { useRights, type Rights } from "./use-me";

/** The create form validates with the API's own schema, minus the bindings it reads from RoleFields. */
const ZCreateUserForm = ZUserCreateInput.pick({ name: true, email: true, displayName: true, password: true });

export function UsersAdmin() {
  const { rights, error, isPending } = useRights();
  if (isPending) return <p className="admin-muted">Loading…</p>;
  if (!rights) return <ErrorAlert error={error} />;
  if (!rights.anyAdmin) return <Refused what="Managing users takes the admin role." />;
  return <Users rights={rights} />;
}

function Users({ rights }: { rights: Rights }) {
  const trpc = useTRPC();
  const users = useQuery(trpc.user.list.queryOptions({}));
  const services = useQuery(trpc.service.list.queryOptions({}));
  const [managing, setManaging] = useState<string | null>(null);
  const namespaces = [
    ...new Set([
      ...(services.data?.items.map((s) => s.namespace) ?? []),
      ...rights.adminScopes.filter((n) => n !== ALL_NAMESPACES),
    ]),
  ].sort();
  const selected = users.data?.items.find((u) => u.name === managing) ?? null;

  return (
    <>
      {rights.meshAdmin && <CreateUser namespaces={namespaces} />}
      {users.isError && <ErrorAlert error={users.error} label="Could not load users" />}
      {users.isPending && <p className="admin-muted">Loading users…</p>}
      {users.data && (
        <table aria-label="Users" className="admin-table">
          <caption>Users ({users.data.items.length})</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Roles</th>
              <th scope="col">Status</th>
              <th scope="col">Last sign-in</th>
              <th scope="col">
                <span className="admin-sr">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.data.items.map((u) => (
              <tr key={u.id} aria-selected={u.name === managing || undefined}>
                <th scope="row">
                  {u.name}
                  {u.displayName && <div className="admin-muted">{u.displayName}</div>}
                </th>
                <td>{u.email ?? <span className="admin-muted">none</span>}</td>
                <td>
                  {u.bindings.length === 0 ? (
                    <span className="admin-muted">no roles</span>
                  ) : (
                    <ul className="admin-inline-list">
                      {u.bindings.map((b) => (
                        <li key={`${b.role}@${b.namespace}`}>{binding(b)}</li>
                      ))}
                    </ul>
                  )}
                </td>
                <td>
                  {u.disabled ? <span className="admin-pill bad">disabled</span> : "enabled"}
                  {!u.hasPassword && <div className="admin-muted">single sign-on only</div>}
                </td>
                <td>{when(u.lastLoginAt)}</td>
                <td>
                  <button
                    type="button"
                    className="secondary"
                    aria-label={`Manage ${u.name}`}
                    aria-expanded={u.name === managing}
                    onClick={() => setManaging(u.name === managing ? null : u.name)}
                  >
                    Manage
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {selected && (
        <ManageUser
          key={selected.id}
          user={selected}
          rights={rights}
          namespaces={namespaces}
          onClose={() => setManaging(null)}
        />
      )}
    </>
  );
}

function CreateUser({ namespaces }: { namespaces: string[] }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [errors, setErrors] = useState<FieldErrors>({});
  const [created, setCreated] = useState<string | null>(null);
  const create = useMutation(
    trpc.user.create.mutationOptions({
      onSuccess: (u) => {
        setCreated(u.name);
        void qc.invalidateQueries(trpc.user.list.queryFilter());
      },
      onError: (e) => setErrors(fieldErrors(apiError(e).issues)),
    }),
  );

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    const form = new FormData(formEl);
    const sso = form.get("sso") === "on";
    const fields = ZCreateUserForm.safeParse({
      name: optional(form.get("name")) ?? "",
      email: optional(form.get("email")),
      displayName: optional(form.get("displayName")),
      password: sso ? undefined : String(form.get("password") ?? ""),
    });
    const role = readBinding(form);
    const errs = { ...(fields.success ? {} : zodFieldErrors(fields.error)), ...role.errors };
    setErrors(errs);
    setCreated(null);
    create.reset();
    if (!fields.success || Object.keys(errs).length > 0) return;
    create.mutate(
      { ...fields.data, bindings: role.binding ? [role.binding] : [] },
      { onSuccess: () => formEl.reset() },
    );
  }

  const field = (name: string) => ({
    name,
    "aria-invalid": errors[name] ? true : undefined,
    "aria-describedby": errors[name] ? `new-user-${name}-error` : undefined,
  });
  return (
    <form className="admin-panel admin-form" aria-labelledby="new-user-title" onSubmit={onSubmit} noValidate>
      <h2 id="new-user-title">Create a user</h2>
      <div className="admin-grid">
        <div className="admin-field">
          <label>
            User name
            <input {...field("name")} autoComplete="off" />
          </label>
          <FieldError id="new-user-name-error" message={errors.name} />
        </div>
        <div className="admin-field">
          <label>
            Email (optional)
            <input {...field("email")} type="email" autoComplete="off" />
          </label>
          <FieldError id="new-user-email-error" message={errors.email} />
        </div>
        <div className="admin-field">
          <label>
            Display name (optional)
            <input {...field("displayName")} autoComplete="off" />
          </label>
          <FieldError id="new-user-displayName-error" message={errors.displayName} />
        </div>
        <div className="admin-field">
          <label>
            Initial password
            <input {...field("password")} type="password" autoComplete="new-password" />
          </label>
          <FieldError id="new-user-password-error" message={errors.password} />
        </div>
        <label className="admin-check">
          <input type="checkbox" name="sso" />
          Single sign-on only (no password)
        </label>
      </div>
      <fieldset className="admin-grid">
        <legend>First role</legend>
        <RoleFields idPrefix="new-user" allowAll optionalRole namespaces={namespaces} errors={errors} />
      </fieldset>
      <ErrorAlert error={create.error} label="The user was not created" />
      {created && (
        <p role="status" className="admin-ok">
          Created user {created}.
        </p>
      )}
      <div className="admin-buttons">
        <button type="submit" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create user"}
        </button>
      </div>
    </form>
  );
}

function ManageUser({
  user,
  rights,
  namespaces,
  onClose,
}: {
  user: UserSummary;
  rights: Rights;
  namespaces: string[];
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const refresh = () => {
    void qc.invalidateQueries(trpc.user.list.queryFilter());
    void qc.invalidateQueries(trpc.audit.list.pathFilter());
  };
  const disable = useMutation(trpc.user.disable.mutationOptions({ onSuccess: refresh }));
  const enable = useMutation(trpc.user.enable.mutationOptions({ onSuccess: refresh }));
  const revoke = useMutation(trpc.user.revoke.mutationOptions({ onSuccess: refresh }));
  const self = rights.me.id === user.id;
  // Revoking follows the server's rule: admin of the binding's scope, and holding that role there.
  const mayRevoke = (b: RoleBinding) =>
    hasRole(rights.me.effective, "admin", b.namespace) && hasRole(rights.me.effective, b.role, b.namespace);

  return (
    <section className="admin-panel" aria-labelledby="manage-title">
      <div className="admin-title-row">
        <h2 id="manage-title">Manage {user.name}</h2>
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>

      {rights.meshAdmin && (
        <>
          <h3>Account</h3>
          <div className="admin-buttons">
            {user.disabled ? (
              <button
                type="button"
                disabled={enable.isPending}
                onClick={() => enable.mutate({ name: user.name })}
              >
                Enable {user.name}
              </button>
            ) : self ? (
              <span className="admin-muted">You cannot disable yourself.</span>
            ) : (
              <ConfirmButton
                label={`Disable ${user.name}`}
                question={`Disable ${user.name}? They are signed out and their API tokens stop working.`}
                confirmLabel={`Yes, disable ${user.name}`}
                busy={disable.isPending}
                onConfirm={() => disable.mutate({ name: user.name })}
              />
            )}
          </div>
          <ErrorAlert error={disable.error ?? enable.error} />
          <ResetPassword name={user.name} onDone={refresh} />
        </>
      )}

      <h3>Roles</h3>
      {user.bindings.length === 0 ? (
        <p className="admin-muted">No roles: {user.name} can sign in but sees nothing.</p>
      ) : (
        <ul className="admin-bindings" aria-label={`Roles of ${user.name}`}>
          {user.bindings.map((b) => (
            <li key={`${b.role}@${b.namespace}`}>
              <span>{binding(b)}</span>
              {mayRevoke(b) && (
                <ConfirmButton
                  label={`Revoke ${binding(b)}`}
                  question={`Revoke ${binding(b)} from ${user.name}?`}
                  confirmLabel="Yes, revoke"
                  busy={revoke.isPending}
                  onConfirm={() => revoke.mutate({ name: user.name, role: b.role, namespace: b.namespace })}
                />
              )}
            </li>
          ))}
        </ul>
      )}
      <ErrorAlert error={revoke.error} label="Not revoked" />
      <GrantRole name={user.name} rights={rights} namespaces={namespaces} onDone={refresh} />
    </section>
  );
}

function GrantRole({
  name,
  rights,
  namespaces,
  onDone,
}: {
  name: string;
  rights: Rights;
  namespaces: string[];
  onDone: () => void;
}) {
  const trpc = useTRPC();
  const [errors, setErrors] = useState<FieldErrors>({});
  const grant = useMutation(trpc.user.grant.mutationOptions({ onSuccess: onDone }));
  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const { binding: b, errors: errs } = readBinding(new FormData(e.currentTarget));
    setErrors(errs);
    grant.reset();
    if (b) grant.mutate({ name, ...b });
  }
  return (
    <form className="admin-form" aria-label={`Grant a role to ${name}`} onSubmit={onSubmit} noValidate>
      <h3>Grant a role</h3>
      <div className="admin-grid">
        <RoleFields
          idPrefix="grant"
          allowAll={rights.meshAdmin}
          namespaces={rights.meshAdmin ? namespaces : rights.adminScopes}
          errors={errors}
        />
      </div>
      <ErrorAlert error={grant.error} label="Not granted" />
      {grant.data && (
        <p role="status" className="admin-ok">
          {grant.data.changed ? "Granted." : `${name} already had this role.`}
        </p>
      )}
      <div className="admin-buttons">
        <button type="submit" disabled={grant.isPending}>
          Grant role
        </button>
      </div>
    </form>
  );
}

function ResetPassword({ name, onDone }: { name: string; onDone: () => void }) {
  const trpc = useTRPC();
  const [error, setError] = useState<string | undefined>();
  const [generated, setGenerated] = useState<string | null>(null);
  const reset = useMutation(
    trpc.user.resetPassword.mutationOptions({
      onSuccess: (r) => {
        setGenerated(r.generatedPassword);
        onDone();
      },
    }),
  );
  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    const typed = String(new FormData(formEl).get("password") ?? "");
    setGenerated(null);
    reset.reset();
    if (typed === "") {
      // An empty field asks the server to generate one, shown once below.
      setError(undefined);
      reset.mutate({ name });
      return;
    }
    const r = ZPassword.safeParse(typed);
    setError(r.success ? undefined : r.error.issues[0]!.message);
    if (r.success) reset.mutate({ name, password: r.data }, { onSuccess: () => formEl.reset() });
  }
  return (
    <form className="admin-form" aria-label={`Reset the password of ${name}`} onSubmit={onSubmit} noValidate>
      <h3>Reset password</h3>
      <div className="admin-grid">
        <div className="admin-field">
          <label>
            New password (empty: generate one)
            <input
              name="password"
              type="password"
              autoComplete="new-password"
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? "reset-password-error" : undefined}
            />
          </label>
          <FieldError id="reset-password-error" message={error} />
        </div>
      </div>
      <ErrorAlert error={reset.error} label="Password not changed" />
      {reset.isSuccess && !generated && (
        <p role="status" className="admin-ok">
          Password changed.
        </p>
      )}
      {generated && (
        <ShownOnce
          title={`New password for ${name}`}
          label="Generated password"
          copyLabel="Copy password"
          secret={generated}
          onDone={() => setGenerated(null)}
        />
      )}
      <div className="admin-buttons">
        <button type="submit" disabled={reset.isPending}>
          Reset password
        </button>
      </div>
    </form>
  );
}
