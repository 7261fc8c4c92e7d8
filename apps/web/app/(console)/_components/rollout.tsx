"use client";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/lib/trpc/client";
import { ApiErrorAlert } from "./api-error";

/** The change's config generation on its way to the proxies, refreshed until every proxy has answered. */
export function RolloutView({ changeId }: { changeId: string }) {
  const trpc = useTRPC();
  const rollout = useQuery(
    trpc.change.rollout.queryOptions(
      { id: changeId },
      {
        refetchInterval: (q) => {
          const s = q.state.data?.state;
          return s === "waiting" || s === "in_progress" ? 1_500 : s === "not_applied" ? 5_000 : false;
        },
      },
    ),
  );
  if (rollout.isPending) return <p className="muted">Loading the rollout…</p>;
  if (rollout.isError) return <ApiErrorAlert error={rollout.error} label="Could not load the rollout" />;
  const r = rollout.data;
  if (r.state === "not_applied") return null;
  return (
    <section aria-label="Rollout" className="panel">
      <h2>Rollout</h2>
      <p role="status" className={r.nacked > 0 ? "error" : ""}>
        {r.total === 0
          ? `Generation ${r.generation}: no proxy is affected.`
          : `Generation ${r.generation}: applied on ${r.acked}/${r.total} proxies` +
            (r.nacked > 0 ? `, refused by ${r.nacked}` : "") +
            (r.pending > 0 ? `, ${r.pending} pending` : "") +
            "."}
      </p>
      {r.proxies.length > 0 && (
        <table aria-label="Proxies">
          <thead>
            <tr>
              <th scope="col">Proxy</th>
              <th scope="col">Address</th>
              <th scope="col">State</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {r.proxies.map((p) => (
              <tr key={p.workloadId}>
                <td>
                  {p.namespace}/{p.service} {p.version}
                </td>
                <td>{p.address}</td>
                <td>
                  <span className={`badge rollout-${p.state}`}>{p.state}</span>
                </td>
                <td>{p.reason ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
