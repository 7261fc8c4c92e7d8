import { z } from "zod";
import { ZNamespace, ZServiceName } from "./names.js";

/**
 * Traces as the console, the REST API and the CLI read them from the control plane's trace store
 * (docs/decisions/017-trace-store.md). A span belongs to the workload whose sidecar sent it; a viewer sees the
 * spans of namespaces they may read, and the others of a trace they can see as `redacted` spans: timing and
 * place in the tree only.
 */

export const TRACE_LIST_MAX = 200;
/** The window a trace search covers when it names no `since` (the newest hour). */
export const TRACE_DEFAULT_WINDOW_MS = 3_600_000;

export const ZTraceId = z
  .string()
  .regex(/^[0-9a-f]{32}$/, "32 lowercase hex digits (a W3C trace id)")
  .refine((id) => !/^0+$/.test(id), "the all-zero trace id is invalid");

export const ZTraceListInput = z.object({
  namespace: ZNamespace.optional().describe("only traces with a span of a workload in this namespace"),
  service: ZServiceName.optional().describe(
    "only traces with a span of this service (with namespace: of that one)",
  ),
  peerNamespace: ZNamespace.optional().describe(
    "with peerService: only traces with a call between service and this peer",
  ),
  peerService: ZServiceName.optional(),
  status: z.enum(["ok", "error"]).optional().describe("error: traces with a failed span; ok: those without"),
  minDurationMs: z
    .number()
    .min(0)
    .max(86_400_000)
    .optional()
    .describe("only traces lasting at least this long"),
  since: z.iso
    .datetime({ offset: true })
    .optional()
    .describe("spans starting from this time (default: an hour ago)"),
  until: z.iso
    .datetime({ offset: true })
    .optional()
    .describe("spans starting before this time (default: now)"),
  order: z.enum(["newest", "slowest"]).default("newest"),
  limit: z.number().int().min(1).max(TRACE_LIST_MAX).default(50),
});
export type TraceListInput = z.input<typeof ZTraceListInput>;

const ZServiceRef = z.object({ namespace: ZNamespace, service: ZServiceName });

export const ZTraceSummary = z.object({
  traceId: ZTraceId,
  startedAt: z.iso.datetime(),
  durationMs: z.number().describe("from the first span's start to the last one's end"),
  root: z
    .object({ name: z.string(), namespace: ZNamespace, service: ZServiceName })
    .nullable()
    .describe("the earliest span; null when it is redacted"),
  spans: z.number().int(),
  errors: z
    .number()
    .int()
    .describe("visible spans with status error (a redacted span's status is not shown)"),
  redactedSpans: z.number().int().describe("spans of namespaces the caller may not read"),
  services: z.array(ZServiceRef).describe("the workloads of the visible spans"),
});
export type TraceSummary = z.infer<typeof ZTraceSummary>;

export const ZTraceList = z.object({
  items: z.array(ZTraceSummary),
  since: z.iso.datetime(),
  until: z.iso.datetime(),
});
export type TraceList = z.infer<typeof ZTraceList>;

export const SPAN_KINDS = ["unspecified", "internal", "server", "client", "producer", "consumer"] as const;

const ZAttributeValue = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.array(z.union([z.string(), z.number(), z.boolean()])),
]);

export const ZTraceSpan = z.object({
  spanId: z.string(),
  parentSpanId: z.string().nullable(),
  startedAt: z.iso.datetime().describe("to the millisecond; offsetMs to the microsecond"),
  offsetMs: z.number().describe("start, in ms after the trace's first span"),
  durationMs: z.number(),
  kind: z.enum(SPAN_KINDS),
  redacted: z.boolean().describe("a span of a namespace the caller may not read: the fields below are empty"),
  namespace: z.string(),
  service: z.string(),
  version: z.string(),
  origin: z.enum(["proxy", "app", ""]).describe("proxy: the sidecar's own span; app: relayed from the app"),
  name: z.string(),
  status: z.enum(["unset", "ok", "error", ""]),
  statusMessage: z.string(),
  httpStatus: z.number().int().nullable(),
  grpcStatus: z.number().int().nullable(),
  attributes: z.record(z.string(), ZAttributeValue),
  events: z.array(
    z.object({ name: z.string(), offsetMs: z.number(), attributes: z.record(z.string(), ZAttributeValue) }),
  ),
});
export type TraceSpan = z.infer<typeof ZTraceSpan>;

export const ZTrace = z.object({
  traceId: ZTraceId,
  startedAt: z.iso.datetime(),
  durationMs: z.number(),
  spans: z.array(ZTraceSpan).describe("by start time"),
});
export type Trace = z.infer<typeof ZTrace>;

export const ZTraceGetInput = z.object({ traceId: ZTraceId });

/**
 * A trace's spans in tree order (depth first, children by start), each with its depth: how the console's
 * waterfall and the CLI's draw it. A span whose parent is not in the trace (not sampled there, or from a
 * caller outside the mesh) starts a tree of its own; a cycle of bad parent ids shows each span once.
 */
export function spanTree<S extends { spanId: string; parentSpanId: string | null; offsetMs: number }>(
  spans: readonly S[],
): { span: S; depth: number }[] {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string | null, S[]>();
  for (const s of spans) {
    const parent =
      s.parentSpanId !== null && ids.has(s.parentSpanId) && s.parentSpanId !== s.spanId
        ? s.parentSpanId
        : null;
    const list = children.get(parent);
    if (list) list.push(s);
    else children.set(parent, [s]);
  }
  const out: { span: S; depth: number }[] = [];
  const seen = new Set<string>();
  const walk = (parent: string | null, depth: number) => {
    for (const s of [...(children.get(parent) ?? [])].sort((a, b) => a.offsetMs - b.offsetMs)) {
      if (seen.has(s.spanId)) continue;
      seen.add(s.spanId);
      out.push({ span: s, depth });
      walk(s.spanId, depth + 1);
    }
  };
  walk(null, 0);
  // Spans only reachable through a cycle (a → b → a): shown at the top level rather than lost.
  for (const s of spans) if (!seen.has(s.spanId)) out.push({ span: s, depth: 0 });
  return out;
}
