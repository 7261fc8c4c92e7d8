"use client";
// A change request's page: what it changes (side-by-side YAML), whether it is valid, what it would affect,
// who approved it, and, once applied, how it reached the proxies. Buttons appear only for what the signed-in
// user's roles allow in every namespace the change touches (a viewer sees the change and is offered nothing);
// the server checks every one of them again.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "@/app/(console)/_components/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import type { Change } from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";
import { useRights, type Rights } from "../../admin/_components/use-me";
import { ApiErrorAlert } from "../../_components/api-error";
import { ImpactView } from "../../_components/impact";
import { Issues } from "../../_components/issues";
import { RolloutView } from "../../_components/rollout";
import { StatusBadge, when } from "../../_components/status";
import { resourceHref } from "../../_components/resource-href";
import { LazyResourceDiff } from "../../_components/resource-diff-lazy";

const DECIDABLE = new Set(["open"]);

export function ChangeDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  const change = useQuery(
    trpc.change.get.queryOptions(
      { id },
      {
        refetchInterval: (q) =>
          q.state.data && ["applying", "approved"].includes(q.state.data.status) ? 1_500 : 10_000,
      },
    ),
  );
  if (change.isPending) return <p className="muted">Loading…</p>;
  if (change.isError)
    return (
      <>
        <h1>Change #{id}</h1>
        <ApiErrorAlert error={change.error} />
      </>
    );
  return <Loaded c={change.data} />;
}

function Loaded({ c }: { c: Change }) {
  const trpc = useTRPC();
  const { rights } = useRights();
  const impact = useQuery(trpc.change.impact.queryOptions({ id: c.id }, { staleTime: 60_000 }));
  return (
    <>
      <div className="title-row">
        <h1>
          #{c.number} {c.title}
        </h1>
        <StatusBadge status={c.status} />
      </div>
      <p className="muted">
        Proposed by {c.author} via {c.source}, {when(c.createdAt)}
        {c.appliedAt && <>; applied {when(c.appliedAt)}</>}
        {c.rollbackOf && (
          <>
            ; rolls back <Link href={`/changes/${c.rollbackOf.number}`}>#{c.rollbackOf.number}</Link>
          </>
        )}
        {c.rolledBackBy.map((r) => (
          <span key={r.id}>
            ; rolled back by <Link href={`/changes/${r.number}`}>#{r.number}</Link>
          </span>
        ))}
      </p>
      {c.fastTrackReason && (
        <p className="warning">Fast-tracked by an admin without approvals: {c.fastTrackReason}</p>
      )}
      {c.description && <p className="description">{c.description}</p>}

      {c.status === "stale" && (
        <p role="alert" className="warning">
          A resource in this change was changed by someone else since it was proposed. Rebase it to review it
          against what is in force now; nothing is applied over newer state.
        </p>
      )}
      {rights && <Actions c={c} rights={rights} />}

      <section aria-label="Changes to resources" className="panel">
        <h2>
          {c.operations.length === 1 ? "1 resource" : `${c.operations.length} resources`}{" "}
          {c.validation.valid ? (
            <span className="badge ok">valid</span>
          ) : (
            <span className="badge bad">invalid</span>
          )}
        </h2>
        <Issues errors={c.validation.errors} warnings={c.validation.warnings} />
        {c.operations.map((op) => {
          const key = { kind: op.kind, namespace: op.namespace, name: op.name };
          return (
            <article key={op.index} className="operation">
              <h3>
                <span className={`badge action-${op.action}`}>{op.action}</span> {op.kind}{" "}
                <Link href={resourceHref(key)}>
                  {op.namespace}/{op.name}
                </Link>
                {op.baseRevision !== null && <span className="muted"> from revision {op.baseRevision}</span>}
                {op.stale && (
                  <span className="badge bad">moved on to revision {op.currentRevision ?? "deleted"}</span>
                )}
              </h3>
              <LazyResourceDiff
                label={`Diff of ${op.kind} ${op.namespace}/${op.name}`}
                resource={key}
                before={op.before}
                after={op.after}
              />
            </article>
          );
        })}
      </section>

      {impact.data && <ImpactView impact={impact.data} />}
      {impact.isError && <ApiErrorAlert error={impact.error} />}

      <section aria-label="Approvals" className="panel">
        <h2>
          Approvals {c.approvalCount}/{c.requiredApprovals}
        </h2>
        {c.approvals.length === 0 ? (
          <p className="muted">No decisions yet.</p>
        ) : (
          <ul className="approvals">
            {c.approvals.map((a, i) => (
              <li key={i}>
                <strong>{a.user}</strong> {a.decision === "approve" ? "approved" : "rejected"}{" "}
                {when(a.createdAt)}
                {a.comment && <blockquote>{a.comment}</blockquote>}
              </li>
            ))}
          </ul>
        )}
      </section>

      <RolloutView changeId={c.id} />
    </>
  );
}

function Actions({ c, rights }: { c: Change; rights: Rights }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const router = useRouter();
  const [comment, setComment] = useState("");
  const [fastTrack, setFastTrack] = useState("");
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.change.pathKey() });
  const approve = useMutation(trpc.change.approve.mutationOptions({ onSuccess: refresh }));
  const reject = useMutation(trpc.change.reject.mutationOptions({ onSuccess: refresh }));
  const cancel = useMutation(trpc.change.cancel.mutationOptions({ onSuccess: refresh }));
  const rebase = useMutation(trpc.change.rebase.mutationOptions({ onSuccess: refresh }));
  const rollback = useMutation(
    trpc.change.rollback.mutationOptions({
      onSuccess: async (r) => {
        await refresh();
        router.push(`/changes/${r.number}`);
      },
    }),
  );
  const busy =
    approve.isPending || reject.isPending || cancel.isPending || rebase.isPending || rollback.isPending;
  const error = approve.error ?? reject.error ?? cancel.error ?? rebase.error ?? rollback.error;
  const decidable = DECIDABLE.has(c.status);
  // What the server would accept from this user, mirrored (services/changes): approve and reject need the
  // approver role, rebase and rollback the editor role, a fast-tracked rollback the admin role, each in every
  // namespace the change touches; only the author cancels, and never approves.
  const isAuthor = rights.me.kind === "user" && rights.me.name === c.author;
  const mayDecide = decidable && !isAuthor && rights.hasAll("approver", c.namespaces);
  const mayEdit = rights.hasAll("editor", c.namespaces);
  const mayCancel = isAuthor && (c.status === "open" || c.status === "stale");
  const mayRebase = c.status === "stale" && mayEdit;
  const mayRollback = c.status === "applied" && c.rolledBackBy.length === 0 && mayEdit;
  const mayFastTrack = rights.hasAll("admin", c.namespaces);
  const anything = mayDecide || (decidable && isAuthor) || mayCancel || mayRebase || mayRollback;
  if (!anything) {
    return decidable ? (
      <p className="muted" role="status">
        Deciding on this change takes the approver role in {c.namespaces.join(", ")}.
      </p>
    ) : null;
  }

  return (
    <section aria-label="Review" className="panel actions">
      {mayDecide && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
          }}
        >
          <label>
            Comment
            <textarea value={comment} onChange={(e) => setComment(e.target.value)} rows={2} />
          </label>
          <div className="buttons">
            <button
              type="button"
              disabled={busy || !c.validation.valid}
              onClick={() => approve.mutate({ id: c.id, ...(comment ? { comment } : {}) })}
            >
              Approve
            </button>
            <button
              type="button"
              className="danger"
              disabled={busy}
              onClick={() => reject.mutate({ id: c.id, ...(comment ? { comment } : {}) })}
            >
              Reject
            </button>
          </div>
        </form>
      )}
      {decidable && isAuthor && (
        <p className="muted">You proposed this change: someone else must approve it.</p>
      )}
      <div className="buttons">
        {mayCancel && (
          <button
            type="button"
            className="secondary"
            disabled={busy}
            onClick={() => cancel.mutate({ id: c.id })}
          >
            Cancel change
          </button>
        )}
        {mayRebase && (
          <button type="button" disabled={busy} onClick={() => rebase.mutate({ id: c.id })}>
            Rebase
          </button>
        )}
      </div>
      {mayRollback && (
        <details>
          <summary>Roll back this change</summary>
          <p className="muted">
            A rollback is a new change request that restores every resource to its revision before this
            change. It needs approval like any other, unless an admin fast-tracks it with a reason.
          </p>
          {mayFastTrack && (
            <label>
              Fast-track reason (admins only; leave empty to ask for approval)
              <input value={fastTrack} onChange={(e) => setFastTrack(e.target.value)} />
            </label>
          )}
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              rollback.mutate({
                id: c.id,
                ...(mayFastTrack && fastTrack.trim() ? { fastTrackReason: fastTrack.trim() } : {}),
              })
            }
          >
            Propose rollback
          </button>
        </details>
      )}
      <ApiErrorAlert error={error} />
    </section>
  );
}
