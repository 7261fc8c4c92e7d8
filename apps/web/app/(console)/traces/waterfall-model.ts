// The waterfall of one trace, as data: each span's row (depth, where its bar starts and how wide it is on the
// trace's time line, in percent) and how a duration reads. Pure, so it is tested without a browser.
import { spanTree, type Trace, type TraceSpan } from "@trellis/contracts";

export interface WaterfallRow {
  span: TraceSpan;
  depth: number;
  /** Bar start and width, percent of the trace's duration; a zero-length span still gets a visible sliver. */
  left: number;
  width: number;
  label: string;
}

export function formatDuration(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  return `${Math.round(ms * 1000)} µs`;
}

export function spanLabel(s: TraceSpan): string {
  return s.redacted ? "Redacted: a namespace you may not read" : `${s.service} · ${s.name}`;
}

export function waterfall(trace: Trace): WaterfallRow[] {
  const total = trace.durationMs > 0 ? trace.durationMs : 1;
  return spanTree(trace.spans).map(({ span, depth }) => {
    const left = Math.min(100, Math.max(0, (span.offsetMs / total) * 100));
    const width = Math.max(0.3, Math.min(100 - left, (span.durationMs / total) * 100));
    return { span, depth, left, width, label: spanLabel(span) };
  });
}

/** Time-line ticks: five evenly spaced labels from 0 to the trace's duration. */
export function ticks(durationMs: number): { at: number; label: string }[] {
  return [0, 0.25, 0.5, 0.75, 1].map((f) => ({ at: f * 100, label: formatDuration(f * durationMs) }));
}
