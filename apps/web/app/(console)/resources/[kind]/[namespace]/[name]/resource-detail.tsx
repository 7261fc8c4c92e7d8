"use client";
// One resource: the spec in force, every revision it had (with the change request that wrote it), and a diff
// of any revision against the one before it.
import { useQuery } from "@tanstack/react-query";
import Link from "@/app/(console)/_components/link";
import { useState } from "react";
import type { ResourceKind } from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";
import { ApiErrorAlert } from "../../../../_components/api-error";
import { ProposeLink } from "../../../../_components/propose-link";
import { when } from "../../../../_components/status";
import { LazyResourceDiff } from "../../../../_components/resource-diff-lazy";

export function ResourceDetail(props: { kind: string; namespace: string; name: string }) {
  const trpc = useTRPC();
  const ref = { kind: props.kind as ResourceKind, namespace: props.namespace, name: props.name };
  const history = useQuery(trpc.resource.history.queryOptions(ref));
  const [shown, setShown] = useState<number | null>(null);
  const title = `${props.kind} ${props.namespace}/${props.name}`;
  if (history.isPending) return <p className="muted">Loading…</p>;
  if (history.isError)
    return (
      <>
        <h1>{title}</h1>
        <ApiErrorAlert error={history.error} />
      </>
    );
  const items = history.data.items;
  const current = items[0];
  const inForce = current !== undefined && current.spec !== null;
  const pick = items.find((i) => i.revision === shown) ?? current;
  const previous = pick ? items.find((i) => i.revision < pick.revision) : undefined;
  const edit = `${props.kind}/${props.namespace}/${props.name}`;
  return (
    <>
      <div className="title-row">
        <h1>{title}</h1>
        {inForce && (
          <div className="buttons">
            <ProposeLink namespace={props.namespace} href={`/changes/new?edit=${encodeURIComponent(edit)}`}>
              Propose an edit
            </ProposeLink>
            <ProposeLink
              namespace={props.namespace}
              className="button secondary"
              href={`/changes/new?edit=${encodeURIComponent(edit)}&delete=1`}
            >
              Propose deletion
            </ProposeLink>
          </div>
        )}
      </div>
      {!inForce && <p className="warning">This resource was deleted in revision {current?.revision}.</p>}
      <section aria-label="Revisions" className="panel">
        <h2>Revisions</h2>
        <table aria-label="Revision history">
          <thead>
            <tr>
              <th scope="col">Revision</th>
              <th scope="col">Change request</th>
              <th scope="col">Author</th>
              <th scope="col">When</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.revision} aria-current={r.revision === pick?.revision ? "true" : undefined}>
                <td>
                  {r.revision}
                  {r.spec === null && <span className="badge bad">deleted</span>}
                </td>
                <td>
                  {r.change ? (
                    <Link href={`/changes/${r.change.number}`}>
                      #{r.change.number} {r.change.title}
                    </Link>
                  ) : (
                    "—"
                  )}
                </td>
                <td>{r.author ?? "—"}</td>
                <td>{when(r.createdAt)}</td>
                <td>
                  <button type="button" className="secondary" onClick={() => setShown(r.revision)}>
                    Show
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {pick && (
        <section aria-label={`Revision ${pick.revision}`} className="panel">
          <h2>
            Revision {pick.revision}
            {previous ? ` against ${previous.revision}` : ""}
          </h2>
          <LazyResourceDiff
            label={`Revision ${pick.revision}`}
            resource={ref}
            before={previous ? previous.spec : null}
            after={pick.spec}
          />
        </section>
      )}
    </>
  );
}
