"use client";
// "Restrict callers to what was observed": the AccessPolicy that allows exactly the callers seen calling the
// service over a chosen window (policy.suggest), the evidence it was drawn from, its diff and the impact
// preview of the last hour's traffic (change.preview, as for any change), then the change request, opened
// through change.create like any other. The server decides everything shown; the page only lays it out.
import { useMutation, useQuery } from "@tanstack/react-query";
import Link from "@/app/(console)/_components/link";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import type { PolicySuggestion, SuggestedCaller } from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";
import { useRights } from "../../../../admin/_components/use-me";
import { ApiErrorAlert } from "../../../../_components/api-error";
import { ImpactView } from "../../../../_components/impact";
import { Issues } from "../../../../_components/issues";
import { LazyResourceDiff } from "../../../../_components/resource-diff-lazy";

const WINDOWS = [
  ["1h", "last hour"],
  ["6h", "last 6 hours"],
  ["24h", "last 24 hours"],
  ["7d", "last 7 days"],
  ["30d", "last 30 days"],
] as const;

const STATUS: Record<SuggestedCaller["status"], string> = {
  allowed: "allowed",
  "denied-now": "left out: refused now",
  "limited-elsewhere": "left out: limited by method or path in another policy",
  "no-identity": "cannot be allowed: no mesh identity",
  unconfirmed: "left out: only its own sidecar reported these calls",
};

/** What the callee's sidecars observed a caller asking for, or why it is allowed by identity anyway. */
function observedText(c: SuggestedCaller): string {
  const o = c.observed;
  if (o === undefined) return "";
  if (!o.complete)
    return `${o.requests.toLocaleString("en-US")} of ${c.requests.toLocaleString("en-US")} requests observed: allowed by identity`;
  return `${o.methods.join(", ")} on ${o.paths.join(", ")}`;
}

function Evidence({ s }: { s: PolicySuggestion }) {
  if (s.callers.length === 0) return <p className="muted">No calls in this window.</p>;
  const narrowed = s.granularity !== "identity";
  return (
    <table aria-label="Observed callers">
      <thead>
        <tr>
          <th scope="col">Caller</th>
          <th scope="col">Requests</th>
          <th scope="col">mTLS</th>
          <th scope="col">Last seen</th>
          <th scope="col">In the policy</th>
          {narrowed && <th scope="col">Observed</th>}
        </tr>
      </thead>
      <tbody>
        {s.callers.map((c) => (
          <tr key={`${c.namespace}/${c.service}`}>
            <td>
              {c.namespace}/{c.service}
            </td>
            <td>{c.requests.toLocaleString("en-US")}</td>
            <td>{Math.round(c.mtlsShare * 100)}%</td>
            <td>{new Date(c.lastSeen).toLocaleString()}</td>
            <td className={c.status === "allowed" ? undefined : "warning"}>{STATUS[c.status]}</td>
            {narrowed && (
              <td className={c.observed?.complete === false ? "warning" : undefined}>{observedText(c)}</td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function RestrictCallers({ namespace, service }: { namespace: string; service: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const { rights } = useRights();
  const [length, setLength] = useState<string>("24h");
  const [methods, setMethods] = useState(false);
  const [paths, setPaths] = useState(false);
  const suggestion = useQuery(
    trpc.policy.suggest.queryOptions(
      { namespace, service, window: length, methods, paths },
      { placeholderData: (prev) => prev },
    ),
  );
  const s = suggestion.data;
  const operation = s?.operation ?? null;

  // The preview of exactly the operation that would be proposed: validation and the last hour's impact.
  const preview = useMutation(trpc.change.preview.mutationOptions());
  const { mutate: runPreview, reset: resetPreview } = preview;
  const opKey = operation ? JSON.stringify(operation) : null;
  useEffect(() => {
    if (opKey === null) resetPreview();
    else runPreview({ operations: [JSON.parse(opKey) as NonNullable<typeof operation>] });
  }, [opKey, runPreview, resetPreview]);

  const [title, setTitle] = useState<string | null>(null);
  const [description, setDescription] = useState<string | null>(null);
  const create = useMutation(
    trpc.change.create.mutationOptions({ onSuccess: (c) => router.push(`/changes/${c.number}`) }),
  );
  const canPropose = rights?.has("editor", namespace) ?? false;
  const serviceHref = `/services/${encodeURIComponent(namespace)}/${encodeURIComponent(service)}`;

  return (
    <>
      <div className="title-row">
        <h1>
          Restrict callers of {service} <span className="muted">in {namespace}</span>
        </h1>
        <div className="buttons">
          <Link className="button secondary" href={serviceHref}>
            Service page
          </Link>
        </div>
      </div>
      <p className="muted">
        An AccessPolicy that allows exactly the callers seen calling {namespace}/{service} in the window, by
        mesh identity, and if you choose only the methods and path prefixes (first segment, such as /api/*)
        the service&apos;s sidecars observed each of them using. A caller whose requests were not all observed
        (older proxies, TCP) is allowed whole.
      </p>
      <div className="filters">
        <label>
          Observed over
          <select value={length} onChange={(e) => setLength(e.target.value)}>
            {WINDOWS.map(([w, label]) => (
              <option key={w} value={w}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          <input type="checkbox" checked={methods} onChange={(e) => setMethods(e.target.checked)} />
          Only the methods observed
        </label>
        <label>
          <input type="checkbox" checked={paths} onChange={(e) => setPaths(e.target.checked)} />
          Only the paths observed
        </label>
        {suggestion.isFetching && <span className="muted">Loading…</span>}
      </div>
      <ApiErrorAlert error={suggestion.error} />
      {s && (
        <>
          <section className="panel" aria-label="Evidence">
            <h2>Callers seen</h2>
            <p className="muted">
              {new Date(s.window.from).toLocaleString()} to {new Date(s.window.until).toLocaleString()}.
            </p>
            <Evidence s={s} />
            {s.warnings.length > 0 && (
              <ul aria-label="Warnings" className="warning">
                {s.warnings.map((w) => (
                  <li key={w}>{w}</li>
                ))}
              </ul>
            )}
          </section>
          {s.resource && operation && (
            <section className="panel" aria-label="Proposed policy">
              <h2>
                <span className={`badge action-${operation.action}`}>{operation.action}</span> AccessPolicy{" "}
                {namespace}/{s.resource.metadata.name}
              </h2>
              <LazyResourceDiff
                label={`Diff of AccessPolicy ${namespace}/${s.resource.metadata.name}`}
                resource={{ ...s.resource.metadata, kind: "AccessPolicy" }}
                before={s.current}
                after={s.resource.spec as Record<string, unknown>}
              />
            </section>
          )}
          <ApiErrorAlert error={preview.error} />
          {preview.data && operation && (
            <>
              <Issues errors={preview.data.validation.errors} warnings={preview.data.validation.warnings} />
              <ImpactView impact={preview.data.impact} />
            </>
          )}
          {s.resource && operation && canPropose && (
            <form
              className="editor"
              aria-label="Open the change request"
              onSubmit={(e) => {
                e.preventDefault();
                create.mutate({
                  title: title ?? s.title,
                  description: description ?? s.description,
                  operations: [operation],
                });
              }}
            >
              <label>
                Title
                <input value={title ?? s.title} onChange={(e) => setTitle(e.target.value)} />
              </label>
              <label>
                Description
                <textarea
                  value={description ?? s.description}
                  onChange={(e) => setDescription(e.target.value)}
                  rows={4}
                />
              </label>
              <div className="buttons">
                <button type="submit" disabled={create.isPending || preview.data?.validation.valid === false}>
                  Open change request
                </button>
              </div>
              <ApiErrorAlert error={create.error} />
            </form>
          )}
          {s.resource && rights && !canPropose && (
            <p role="status" className="muted">
              Your role lets you see the suggestion, not propose it: that takes the editor role in {namespace}
              .
            </p>
          )}
        </>
      )}
    </>
  );
}
