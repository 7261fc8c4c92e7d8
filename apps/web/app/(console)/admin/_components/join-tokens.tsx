"use client";
// Join tokens for proxies (admins of the namespace). The token is shown once, with the command that starts a
// sidecar with it; the token travels in TRELLIS_JOIN_TOKEN, not in argv where every local user can read it.
import "@/lib/zod-jitless";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import {
  ALL_NAMESPACES,
  ZJoinTokenCreateInput,
  type JoinTokenCreated,
  type JoinTokenCreateInput,
} from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";
import { CopyButton } from "./copy-button";
import { ConfirmButton } from "./confirm-button";
import { apiError } from "../../_components/api-error";
import { ErrorAlert, FieldError, fieldErrors, zodFieldErrors, type FieldErrors } from "./errors";
import { optional, tokenState, when } from "./format";
import { Refused } from "./refused";
import { ShownOnce } from "./shown-once";
import { useRights, type Rights } from "./use-me";

const JOIN_LIFETIMES = [
  { value: "1h", label: "1 hour" },
  { value: "24h", label: "24 hours" },
  { value: "7d", label: "7 days" },
  { value: "30d", label: "30 days" },
  { value: "", label: "never (until revoked)" },
];

/** Single quotes for a POSIX shell: the token is base64url and dots, but never trust that blindly. */
const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function proxyCommand(t: JoinTokenCreated, controlPlane: string | null): string {
  return [
    `export TRELLIS_JOIN_TOKEN=${shq(t.token)}`,
    `trellis proxy --control-plane ${controlPlane ?? "https://CONTROL-PLANE:15010"} \\`,
    `    --namespace ${t.namespace} --service ${t.service ?? "SERVICE"} --version v1 --app-port APP-PORT`,
  ].join("\n");
}

export function JoinTokens({ controlPlane }: { controlPlane: string | null }) {
  const { rights, error, isPending } = useRights();
  if (isPending) return <p className="admin-muted">Loading…</p>;
  if (!rights) return <ErrorAlert error={error} />;
  if (!rights.anyAdmin) return <Refused what="Join tokens are for admins of a namespace." />;
  return <JoinTokensAdmin rights={rights} controlPlane={controlPlane} />;
}

function JoinTokensAdmin({ rights, controlPlane }: { rights: Rights; controlPlane: string | null }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const tokens = useQuery(trpc.joinToken.list.queryOptions({}));
  const services = useQuery(trpc.service.list.queryOptions({}));
  const [created, setCreated] = useState<JoinTokenCreated | null>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const refresh = () => qc.invalidateQueries(trpc.joinToken.list.queryFilter());
  const create = useMutation(
    trpc.joinToken.create.mutationOptions({
      onSuccess: (t) => {
        setCreated(t);
        void refresh();
      },
      onError: (e) => setErrors(fieldErrors(apiError(e).issues)),
    }),
  );
  const revoke = useMutation(trpc.joinToken.revoke.mutationOptions({ onSuccess: refresh }));
  const namespaces = rights.meshAdmin
    ? [...new Set(services.data?.items.map((s) => s.namespace) ?? [])].sort()
    : rights.adminScopes.filter((n) => n !== ALL_NAMESPACES);

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    const form = new FormData(formEl);
    const input: JoinTokenCreateInput = {
      namespace: optional(form.get("namespace")) ?? "",
      service: optional(form.get("service")),
      name: optional(form.get("name")),
      expiresIn: optional(form.get("expiresIn")),
    };
    const r = ZJoinTokenCreateInput.safeParse(input);
    setErrors(r.success ? {} : zodFieldErrors(r.error));
    setCreated(null);
    create.reset();
    if (r.success) create.mutate(input, { onSuccess: () => formEl.reset() });
  }

  const field = (name: string) => ({
    name,
    "aria-invalid": errors[name] ? true : undefined,
    "aria-describedby": errors[name] ? `join-${name}-error` : undefined,
  });
  const command = created ? proxyCommand(created, controlPlane) : "";
  return (
    <>
      {created ? (
        <ShownOnce
          title={`New join token for ${created.namespace}${created.service ? `/${created.service}` : ""}`}
          label="Join token"
          copyLabel="Copy join token"
          secret={created.token}
          onDone={() => setCreated(null)}
        >
          <label>
            Command to start a proxy
            <textarea readOnly className="admin-mono" rows={4} wrap="off" value={command} />
          </label>
          <div className="admin-buttons">
            <CopyButton text={command} label="Copy command" />
          </div>
          {!controlPlane && (
            <p className="admin-muted">
              This console does not know its control plane&apos;s address (set TRELLIS_CONTROL_PLANE_URL):
              replace CONTROL-PLANE.
            </p>
          )}
          <p className="admin-muted">
            Set <code>--version</code> and <code>--app-port</code> to the workload&apos;s
            {created.service ? "" : "; --service to its service"}.
            {created.expiresAt ? ` Proxies can join with it until ${when(created.expiresAt)}.` : ""}
          </p>
        </ShownOnce>
      ) : (
        <form
          className="admin-panel admin-form"
          aria-labelledby="new-join-title"
          onSubmit={onSubmit}
          noValidate
        >
          <h2 id="new-join-title">Create a join token</h2>
          <div className="admin-grid">
            <div className="admin-field">
              <label>
                Namespace
                <input {...field("namespace")} list="join-namespaces" autoComplete="off" />
              </label>
              <FieldError id="join-namespace-error" message={errors.namespace} />
            </div>
            <datalist id="join-namespaces">
              {namespaces.map((n) => (
                <option key={n} value={n} />
              ))}
            </datalist>
            <div className="admin-field">
              <label>
                Service (optional)
                <input {...field("service")} autoComplete="off" placeholder="(any service)" />
              </label>
              <FieldError id="join-service-error" message={errors.service} />
            </div>
            <div className="admin-field">
              <label>
                Description (optional)
                <input {...field("name")} autoComplete="off" />
              </label>
              <FieldError id="join-name-error" message={errors.name} />
            </div>
            <div className="admin-field">
              <label>
                Lifetime
                <select {...field("expiresIn")} defaultValue="24h">
                  {JOIN_LIFETIMES.map((l) => (
                    <option key={l.value} value={l.value}>
                      {l.label}
                    </option>
                  ))}
                </select>
              </label>
              <FieldError id="join-expiresIn-error" message={errors.expiresIn} />
            </div>
          </div>
          <ErrorAlert error={create.error} label="The join token was not created" />
          <div className="admin-buttons">
            <button type="submit" disabled={create.isPending}>
              {create.isPending ? "Creating…" : "Create join token"}
            </button>
          </div>
        </form>
      )}

      <ErrorAlert error={revoke.error} label="Not revoked" />
      {tokens.isError && <ErrorAlert error={tokens.error} label="Could not load join tokens" />}
      {tokens.isPending && <p className="admin-muted">Loading join tokens…</p>}
      {tokens.data &&
        (tokens.data.items.length === 0 ? (
          <div className="admin-empty">No join tokens yet.</div>
        ) : (
          <table aria-label="Join tokens" className="admin-table">
            <caption>Join tokens</caption>
            <thead>
              <tr>
                <th scope="col">Prefix</th>
                <th scope="col">Description</th>
                <th scope="col">Namespace</th>
                <th scope="col">Service</th>
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
                const label = `${t.prefix}… (${t.namespace}${t.service ? `/${t.service}` : ""})`;
                return (
                  <tr key={t.id}>
                    <th scope="row">
                      <code>{t.prefix}…</code>
                    </th>
                    <td>{t.name ?? <span className="admin-muted">none</span>}</td>
                    <td>{t.namespace}</td>
                    <td>{t.service ?? <span className="admin-muted">any</span>}</td>
                    <td>{when(t.createdAt)}</td>
                    <td>{when(t.lastUsedAt)}</td>
                    <td>{when(t.expiresAt)}</td>
                    <td>
                      <span className={`admin-pill ${state === "active" ? "ok" : "bad"}`}>{state}</span>
                      {t.revokedAt && t.evictedProxies !== null && (
                        <span className="admin-muted">
                          {" "}
                          {t.evictedProxies} {t.evictedProxies === 1 ? "proxy" : "proxies"} evicted
                        </span>
                      )}
                    </td>
                    <td>
                      {state === "active" && (
                        <ConfirmButton
                          label={`Revoke ${label}`}
                          question={`Revoke join token ${label}? Proxies that joined with it are evicted from the mesh and their certificates revoked; new ones cannot join with it.`}
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
