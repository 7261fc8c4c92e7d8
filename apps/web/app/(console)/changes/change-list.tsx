"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "@/app/(console)/_components/link";
import { useState } from "react";
import { CHANGE_STATUSES, type ChangeStatus } from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";
import { StatusBadge, when } from "../_components/status";
import { ApiErrorAlert } from "../_components/api-error";

export function ChangeList() {
  const trpc = useTRPC();
  const [status, setStatus] = useState<ChangeStatus | "">("");
  const list = useQuery(trpc.change.list.queryOptions(status ? { status } : {}, { refetchInterval: 5_000 }));
  return (
    <>
      <div className="filters">
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value as ChangeStatus | "")}>
            <option value="">Any</option>
            {CHANGE_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace("_", " ")}
              </option>
            ))}
          </select>
        </label>
      </div>
      {list.isPending ? (
        <p className="muted">Loading…</p>
      ) : list.isError ? (
        <ApiErrorAlert error={list.error} label="Could not load change requests" />
      ) : list.data.items.length === 0 ? (
        <div className="empty">
          <h2>No change requests{status ? ` that are ${status.replace("_", " ")}` : ""}</h2>
          <p>
            Every change to routing and policy goes through a change request. Open one with{" "}
            <em>New change</em>, or from a file with <code>trellis apply -f route.yaml</code>.
          </p>
        </div>
      ) : (
        <table aria-label="Change requests">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Title</th>
              <th scope="col">Status</th>
              <th scope="col">Namespaces</th>
              <th scope="col">Approvals</th>
              <th scope="col">Author</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((c) => (
              <tr key={c.id}>
                <td>{c.number}</td>
                <td>
                  <Link href={`/changes/${c.number}`}>{c.title}</Link>
                  {c.rollbackOf && <span className="muted"> (rolls back #{c.rollbackOf.number})</span>}
                </td>
                <td>
                  <StatusBadge status={c.status} />
                </td>
                <td>{c.namespaces.join(", ")}</td>
                <td>
                  {c.approvalCount}/{c.requiredApprovals}
                </td>
                <td>
                  {c.author} <span className="muted">via {c.source}</span>
                </td>
                <td>{when(c.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
