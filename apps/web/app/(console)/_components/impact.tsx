import type { Impact } from "@trellis/contracts";

const rate = (n: number) => (n >= 100 ? Math.round(n).toLocaleString() : n.toFixed(n >= 10 ? 1 : 2));

/** What a change touches and the traffic it would have affected, from the last hour's telemetry. */
export function ImpactView({ impact }: { impact: Impact }) {
  const connected = impact.proxies.filter((p) => p.status === "connected").length;
  return (
    <section aria-label="Impact preview" className="panel">
      <h2>Impact</h2>
      <p className="muted">
        Traffic from {new Date(impact.window.from).toLocaleTimeString()} to{" "}
        {new Date(impact.window.to).toLocaleTimeString()}.
      </p>
      <ul className="impact">
        {impact.routes.map((r, i) => (
          <li key={`r${i}`}>{r.summary}</li>
        ))}
        {impact.accessTotals.map((t, i) => (
          <li key={`t${i}`} className={t.deniedRequests > 0 ? "warning" : ""}>
            {t.summary}
          </li>
        ))}
        {impact.access.map((a, i) => (
          <li key={`a${i}`} className={a.after === "denied" ? "warning" : ""}>
            {a.summary}
          </li>
        ))}
        <li>
          {impact.services.length === 1 ? "1 service" : `${impact.services.length} services`} (
          {impact.services
            .map(
              (s) =>
                `${s.namespace}/${s.name}${s.registered ? ` ${rate(s.requestsPerSecond)} req/s` : ", no proxies"}`,
            )
            .join("; ")}
          ) and {impact.proxies.length} {impact.proxies.length === 1 ? "proxy" : "proxies"} ({connected}{" "}
          connected).
        </li>
      </ul>
      {impact.routes.map((r, i) => (
        <table key={i} aria-label={`Traffic split for ${r.namespace}/${r.service}`}>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Share now</th>
              <th scope="col">Share after</th>
              <th scope="col">req/s after</th>
            </tr>
          </thead>
          <tbody>
            {r.versions.map((v) => (
              <tr key={v.version}>
                <td>{v.version}</td>
                <td>{Math.round(v.observedShare * 100)}%</td>
                <td>{Math.round(v.newShare * 100)}%</td>
                <td>{rate(v.requestsPerSecond)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </section>
  );
}
