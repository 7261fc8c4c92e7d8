"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "@/app/(console)/_components/link";
import { useState } from "react";
import { RESOURCE_KINDS } from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";
import { when } from "../_components/status";
import { resourceHref } from "../_components/resource-href";
import { ApiErrorAlert } from "../_components/api-error";

const KINDS = RESOURCE_KINDS;

export function ResourceList() {
  const trpc = useTRPC();
  const [kind, setKind] = useState<(typeof KINDS)[number] | "">("");
  const list = useQuery(trpc.resource.list.queryOptions(kind ? { kind } : {}));
  return (
    <>
      <div className="filters">
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value as (typeof KINDS)[number] | "")}>
            <option value="">Any</option>
            {KINDS.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
      </div>
      {list.isPending ? (
        <p className="muted">Loading…</p>
      ) : list.isError ? (
        <ApiErrorAlert error={list.error} label="Could not load resources" />
      ) : list.data.items.length === 0 ? (
        <div className="empty">
          <h2>No resources{kind ? ` of kind ${kind}` : ""}</h2>
          <p>Without resources every service gets the defaults: round robin, strict mTLS, no retries.</p>
        </div>
      ) : (
        <table aria-label="Resources">
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">Namespace</th>
              <th scope="col">Name</th>
              <th scope="col">Service</th>
              <th scope="col">Revision</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((r) => (
              <tr key={`${r.kind}/${r.namespace}/${r.name}`}>
                <td>{r.kind}</td>
                <td>{r.namespace}</td>
                <td>
                  <Link href={resourceHref(r)}>{r.name}</Link>
                </td>
                <td>{typeof r.spec.service === "string" ? r.spec.service : "—"}</td>
                <td>{r.revision}</td>
                <td>{when(r.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
