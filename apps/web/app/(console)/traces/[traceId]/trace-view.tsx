"use client";
// One trace across the mesh's sidecars (and the apps that send their own spans): a waterfall of its spans on
// one time line, each under its parent, with its workload, name, duration and status; a span's attributes and
// events open below it. Spans of namespaces the viewer may not read keep their place and timing only.
import { useQuery } from "@tanstack/react-query";
import Link from "@/app/(console)/_components/link";
import { useState } from "react";
import type { TraceSpan } from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";
import { ApiErrorAlert } from "../../_components/api-error";
import { tracesHref } from "../trace-links";
import { formatDuration, ticks, waterfall } from "../waterfall-model";

function statusText(s: TraceSpan): string {
  if (s.redacted) return "";
  const code =
    s.grpcStatus !== null ? `gRPC ${s.grpcStatus}` : s.httpStatus !== null ? String(s.httpStatus) : "";
  return [code, s.status === "error" ? "error" : ""].filter(Boolean).join(" · ");
}

function Details({ span }: { span: TraceSpan }) {
  if (span.redacted)
    return (
      <p className="muted">This span belongs to a namespace you may not read: only its timing is shown.</p>
    );
  const attrs = Object.entries(span.attributes).sort(([a], [b]) => a.localeCompare(b));
  return (
    <div className="span-details">
      <dl>
        <dt>Workload</dt>
        <dd>
          <Link href={`/services/${encodeURIComponent(span.namespace)}/${encodeURIComponent(span.service)}`}>
            {span.namespace}/{span.service}
          </Link>{" "}
          {span.version && <span className="muted">{span.version}</span>}
        </dd>
        <dt>Recorded by</dt>
        <dd>{span.origin === "app" ? "the app (OpenTelemetry)" : "its sidecar"}</dd>
        <dt>Kind</dt>
        <dd>{span.kind}</dd>
        <dt>Span</dt>
        <dd>
          <code>{span.spanId}</code>
          {span.parentSpanId && (
            <>
              {" "}
              <span className="muted">child of</span> <code>{span.parentSpanId}</code>
            </>
          )}
        </dd>
        {span.statusMessage && (
          <>
            <dt>Status message</dt>
            <dd>{span.statusMessage}</dd>
          </>
        )}
      </dl>
      {attrs.length > 0 && (
        <table aria-label="Attributes" className="attributes">
          <tbody>
            {attrs.map(([k, v]) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                <td>{Array.isArray(v) ? v.join(", ") : String(v)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {span.events.length > 0 && (
        <ul aria-label="Events">
          {span.events.map((e, i) => (
            <li key={i}>
              +{formatDuration(e.offsetMs)} {e.name}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function TraceView({ traceId }: { traceId: string }) {
  const trpc = useTRPC();
  const trace = useQuery(trpc.trace.get.queryOptions({ traceId }, { retry: false }));
  const [open, setOpen] = useState<string | null>(null);
  if (trace.error)
    return (
      <>
        <h1>Trace</h1>
        <ApiErrorAlert error={trace.error} label={`Could not load trace ${traceId}`} />
        <Link href="/traces">All traces</Link>
      </>
    );
  if (!trace.data)
    return (
      <>
        <h1>Trace</h1>
        <p className="muted">Loading…</p>
      </>
    );
  const t = trace.data;
  const rows = waterfall(t);
  const failed = t.spans.filter((s) => s.status === "error").length;
  const services = [...new Set(t.spans.filter((s) => !s.redacted).map((s) => `${s.namespace}/${s.service}`))];
  return (
    <>
      <div className="title-row">
        <h1>
          Trace <code className="trace-id">{t.traceId}</code>
        </h1>
        <div className="buttons">
          <Link className="button secondary" href={tracesHref({})}>
            All traces
          </Link>
        </div>
      </div>
      <p>
        {new Date(t.startedAt).toLocaleString()} · {formatDuration(t.durationMs)} · {t.spans.length} spans
        {failed > 0 && <span className="badge bad">{failed} failed</span>} · {services.join(", ")}
      </p>
      <div className="waterfall" role="table" aria-label="Spans">
        <div className="waterfall-row waterfall-head" role="row">
          <span role="columnheader">Span</span>
          <span role="columnheader" className="waterfall-ticks">
            {ticks(t.durationMs).map((k) => (
              <span key={k.at} style={{ left: `${k.at}%` }}>
                {k.label}
              </span>
            ))}
          </span>
          <span role="columnheader">Duration</span>
          <span role="columnheader">Status</span>
        </div>
        {rows.map((r) => {
          const s = r.span;
          const isOpen = open === s.spanId;
          return (
            <div key={s.spanId} role="rowgroup">
              <div
                className={`waterfall-row${s.status === "error" ? " failed" : ""}${s.redacted ? " redacted" : ""}`}
                role="row"
                aria-label={`${r.label}, ${formatDuration(s.durationMs)}`}
              >
                <span role="cell" style={{ paddingLeft: `${r.depth * 1.1}em` }}>
                  <button
                    type="button"
                    className="link"
                    aria-expanded={isOpen}
                    onClick={() => setOpen(isOpen ? null : s.spanId)}
                  >
                    {r.label}
                  </button>
                </span>
                <span role="cell" className="waterfall-track">
                  <span
                    className={`waterfall-bar ${s.kind}`}
                    style={{ left: `${r.left}%`, width: `${r.width}%` }}
                    title={`starts at +${formatDuration(s.offsetMs)}`}
                  />
                </span>
                <span role="cell">{formatDuration(s.durationMs)}</span>
                <span role="cell" className={s.status === "error" ? "error" : undefined}>
                  {statusText(s)}
                </span>
              </div>
              {isOpen && (
                <div role="row">
                  <div role="cell">
                    <Details span={s} />
                  </div>
                </div>
              )}
            </div>
          );
        })}
      </div>
    </>
  );
}
