"use client";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "@/lib/trpc/client";

export function Overview() {
  const trpc = useTRPC();
  const services = useQuery(trpc.service.list.queryOptions({}, { refetchInterval: 5_000 }));

  if (services.isPending) return <p className="muted">Loading…</p>;
  if (services.isError)
    return (
      <p role="alert" className="error">
        Could not load the mesh: {services.error.message}
      </p>
    );

  const items = services.data.items;
  const workloads = items.reduce((n, s) => n + s.workloads, 0);
  const connected = items.reduce((n, s) => n + s.healthyWorkloads, 0);
  return (
    <>
      <section className="cards" aria-label="Mesh at a glance">
        <div className="card">
          <div className="value">{items.length}</div>
          <div className="label">Services</div>
        </div>
        <div className="card">
          <div className="value">
            {connected}/{workloads}
          </div>
          <div className="label">Proxies connected</div>
        </div>
      </section>
      {items.length === 0 ? (
        <div className="empty">
          <h2>No services yet</h2>
          <p>
            Start a proxy beside a workload with <code>trellis proxy --control-plane …</code>, or run the demo
            mesh with <code>trellis up --demo</code>.
          </p>
        </div>
      ) : (
        <table aria-label="Services">
          <thead>
            <tr>
              <th scope="col">Namespace</th>
              <th scope="col">Service</th>
              <th scope="col">Versions</th>
              <th scope="col">Proxies</th>
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr key={`${s.namespace}/${s.name}`}>
                <td>{s.namespace}</td>
                <td>{s.name}</td>
                <td>{s.versions.join(", ")}</td>
                <td>
                  {s.healthyWorkloads}/{s.workloads}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
