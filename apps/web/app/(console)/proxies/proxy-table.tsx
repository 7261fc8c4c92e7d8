// Proxies as rows: address, connection, where each stands against its config (in sync, pending, NACKed with
// the reason in full under it). The Proxies page lists every proxy; a service's page lists its own, without
// the service and namespace columns.
import Link from "@/app/(console)/_components/link";
import type { ProxySummary } from "@trellis/contracts";
import { when } from "../_components/status";
import { SYNC_LABEL, ago } from "./proxy-rows";

export function ProxyTable({
  label,
  items,
  showService = true,
}: {
  label: string;
  items: readonly ProxySummary[];
  showService?: boolean;
}) {
  const columns = showService ? 8 : 6;
  return (
    <table aria-label={label} className="proxies">
      <thead>
        <tr>
          {showService && <th scope="col">Service</th>}
          {showService && <th scope="col">Namespace</th>}
          <th scope="col">Version</th>
          <th scope="col">Address</th>
          <th scope="col">Status</th>
          <th scope="col">Config</th>
          <th scope="col">Proxy</th>
          <th scope="col">Last seen</th>
        </tr>
      </thead>
      <tbody>
        {items.map((p) => (
          <ProxyRows key={p.id} p={p} showService={showService} columns={columns} />
        ))}
      </tbody>
    </table>
  );
}

function ProxyRows({ p, showService, columns }: { p: ProxySummary; showService: boolean; columns: number }) {
  const nacked = p.sync.state === "nacked";
  const reasonId = `nack-${p.id}`;
  return (
    <>
      <tr className={nacked ? "proxy-nacked" : undefined} aria-describedby={nacked ? reasonId : undefined}>
        {showService && (
          <td>
            <Link href={`/services/${encodeURIComponent(p.namespace)}/${encodeURIComponent(p.service)}`}>
              {p.service}
            </Link>
          </td>
        )}
        {showService && <td>{p.namespace}</td>}
        <td>{p.version}</td>
        <td className="mono">{p.address}</td>
        <td>
          <span className={`badge proxy-${p.status}`}>{p.status}</span>
        </td>
        <td>
          <SyncCell p={p} />
        </td>
        <td>{p.proxyVersion ?? "–"}</td>
        <td title={when(p.lastSeenAt)}>{ago(p.lastSeenAt)}</td>
      </tr>
      {nacked && (
        <tr className="proxy-nacked proxy-reason">
          <td colSpan={columns} id={reasonId}>
            <strong>Refused config {version(p.sync.targetVersion ?? p.nackedVersion)}:</strong>{" "}
            <span className="proxy-reason-text">{p.sync.reason ?? "no reason given"}</span>
          </td>
        </tr>
      )}
    </>
  );
}

function SyncCell({ p }: { p: ProxySummary }) {
  const { state, generation, targetVersion } = p.sync;
  const gen = generation === null ? "" : ` of generation ${generation}`;
  return (
    <>
      <span className={`badge sync-${state}`}>{SYNC_LABEL[state]}</span>
      <div className="proxy-config">
        {state === "in_sync" ? (
          <>
            runs {version(p.ackedVersion)}
            {gen}
          </>
        ) : state === "pending" ? (
          <>
            runs {version(p.ackedVersion)},{" "}
            {targetVersion === null ? (
              "no answer yet"
            ) : (
              <>
                waits for {version(targetVersion)}
                {gen}
              </>
            )}
          </>
        ) : (
          <>
            {p.ackedVersion === null ? "has no config yet" : <>keeps {version(p.ackedVersion)}</>}, refused{" "}
            {version(targetVersion ?? p.nackedVersion)}
            {gen}
          </>
        )}
      </div>
    </>
  );
}

function version(v: string | null) {
  return v === null ? <span className="muted">nothing</span> : <code title={v}>{v}</code>;
}
