// `trellis get traces [SERVICE]` and `trellis get trace ID`: the mesh's trace store, over the REST API. A list
// as a table; one trace as a waterfall in the terminal (offset, duration, a bar on the trace's time line, the
// span's workload and name, its status), spans indented under their parents.
import { parseDuration, spanTree, type Trace, type TraceList } from "@trellis/contracts";
import { api, printOutput, printTable, query, type ApiOptions, type OutputOptions } from "../api-client.js";
import { CliError } from "../errors.js";
import { safe } from "../terminal.js";

export type TraceOptions = ApiOptions &
  OutputOptions & {
    namespace?: string;
    status?: string;
    minDuration?: string;
    since?: string;
    slowest?: boolean;
    limit?: string;
  };

const ms = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(2)}s` : `${n.toFixed(n < 10 ? 2 : 1)}ms`);

function duration(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = parseDuration(text);
  if (v === undefined) throw new CliError(`${flag} ${text}: a duration such as 250ms, 2s or 15m`);
  return v;
}

export async function getTraces(o: TraceOptions, service: string | undefined): Promise<void> {
  if (o.status !== undefined && o.status !== "ok" && o.status !== "error")
    throw new CliError(`--status ${o.status}: traces are ok or error`);
  const since = duration("--since", o.since);
  const list = await api<TraceList>(
    o,
    "GET",
    `/traces${query({
      namespace: o.namespace,
      service,
      status: o.status,
      minDurationMs: duration("--min-duration", o.minDuration),
      since: since === undefined ? undefined : new Date(Date.now() - since).toISOString(),
      order: o.slowest ? "slowest" : undefined,
      limit: o.limit,
    })}`,
  );
  await printOutput(o, list.items, () =>
    printTable(
      list.items.map((t) => ({
        trace: t.traceId,
        started: t.startedAt.replace("T", " ").slice(0, 23),
        duration: ms(t.durationMs),
        root: t.root ? `${t.root.namespace}/${t.root.service} ${t.root.name}` : "(redacted)",
        spans: t.redactedSpans > 0 ? `${t.spans} (${t.redactedSpans} redacted)` : String(t.spans),
        errors: String(t.errors),
      })),
      ["trace", "started", "duration", "root", "spans", "errors"],
    ),
  );
}

const BAR = 30;

export async function getTrace(o: TraceOptions, id: string | undefined): Promise<void> {
  if (!id) throw new CliError("which trace? trellis get trace TRACE_ID (from trellis get traces)");
  const t = await api<Trace>(o, "GET", `/traces/${encodeURIComponent(id)}`);
  await printOutput(o, t, () => {
    const errors = t.spans.filter((s) => s.status === "error").length;
    console.log(
      `trace ${t.traceId}  ${t.startedAt.replace("T", " ").slice(0, 23)}  ${ms(t.durationMs)}, ${t.spans.length} spans${errors ? `, ${errors} failed` : ""}`,
    );
    const total = t.durationMs || 1;
    printTable(
      spanTree(t.spans).map(({ span: s, depth }) => {
        const from = Math.min(BAR - 1, Math.floor((s.offsetMs / total) * BAR));
        const width = Math.max(1, Math.round((s.durationMs / total) * BAR));
        const bar = " ".repeat(from) + "█".repeat(Math.min(width, BAR - from));
        const what = s.redacted ? "(redacted: another namespace)" : `${s.namespace}/${s.service} ${s.name}`;
        const status = s.redacted
          ? ""
          : s.grpcStatus !== null
            ? `grpc ${s.grpcStatus}`
            : s.httpStatus !== null
              ? String(s.httpStatus)
              : "";
        return {
          start: `+${ms(s.offsetMs)}`,
          duration: ms(s.durationMs),
          timeline: bar.padEnd(BAR),
          span: `${"  ".repeat(depth)}${safe(what)}`,
          kind: s.kind,
          status: `${status}${s.status === "error" ? " error" : ""}`.trim(),
        };
      }),
      ["start", "duration", "timeline", "span", "kind", "status"],
    );
  });
}
