// The trace store: spans a sidecar sent to the intake, screened, written to PostgreSQL, and pruned to the
// retention (an age and a row count, whichever bites first). A span is stored as the sending workload's: its
// namespace and service come from the sender's certificate, never from the span, so RBAC on traces rests on
// what the mesh CA signed.
import { ZDnsLabel } from "@trellis/contracts";
import type { DecodedResourceSpans, DecodedSpan, DecodedValue } from "@trellis/contracts/otlp";
import type { Db } from "@trellis/db";

/** Who sent a request: the workload its certificate names, and whether the spans are its sidecar's or its app's. */
export interface SpanSender {
  namespace: string;
  service: string;
  origin: "proxy" | "app";
}

export interface SpanRow {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  namespace: string;
  service: string;
  version: string;
  origin: "proxy" | "app";
  name: string;
  kind: number;
  /** Microseconds since the epoch (what timestamptz keeps). */
  startMicros: bigint;
  durationMs: number;
  statusCode: number;
  statusMessage: string;
  httpStatus: number | null;
  grpcStatus: number | null;
  peerNamespace: string | null;
  peerService: string | null;
  attributes: Record<string, DecodedValue>;
  resource: Record<string, DecodedValue>;
  events: { name: string; timeUnixNano: string; attributes: Record<string, DecodedValue> }[];
}

export interface Screened {
  rows: SpanRow[];
  /** Refused spans per reason. */
  refused: Map<string, number>;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ZEROS = /^0+$/;
/** A span longer than this is not a request's: refused. */
const MAX_DURATION_NS = 24n * 3_600n * 1_000_000_000n;
/** How far in the future a span may start (clocks differ between hosts). */
const MAX_CLOCK_SKEW_MS = 10 * 60_000;

const isName = (v: unknown): v is string => typeof v === "string" && ZDnsLabel.safeParse(v).success;

function intAttr(v: DecodedValue | undefined, min: number, max: number): number | null {
  return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? v : null;
}

/**
 * The spans of one request, as rows of the sender's workload, and the refused ones counted by reason. A
 * sidecar's span must be its own side of a call: a server span's `trellis.destination.*` and a client span's
 * `trellis.source.*` name the sender (a proxy can only record calls it took part in). `oldestMs`: spans that
 * started before this are refused (they would be pruned at once).
 */
export function screenSpans(
  request: readonly DecodedResourceSpans[],
  sender: SpanSender,
  now: number,
  oldestMs: number,
): Screened {
  const rows: SpanRow[] = [];
  const refused = new Map<string, number>();
  const refuse = (why: string) => refused.set(why, (refused.get(why) ?? 0) + 1);
  for (const rs of request) {
    const version = typeof rs.resource["service.version"] === "string" ? rs.resource["service.version"] : "";
    // The resource as the sender said it, with the namespace it holds a certificate for.
    const resource = { ...rs.resource, "service.namespace": sender.namespace };
    for (const scope of rs.scopes)
      for (const s of scope.spans) {
        const why = problem(s, sender, now, oldestMs);
        if (why !== null) {
          refuse(why);
          continue;
        }
        rows.push(row(s, sender, version.slice(0, 63), resource, scope.name));
      }
  }
  return { rows, refused };
}

function problem(s: DecodedSpan, sender: SpanSender, now: number, oldestMs: number): string | null {
  if (!HEX32.test(s.traceId) || ZEROS.test(s.traceId)) return "invalid trace id";
  if (!HEX16.test(s.spanId) || ZEROS.test(s.spanId)) return "invalid span id";
  if (s.parentSpanId !== null && (!HEX16.test(s.parentSpanId) || ZEROS.test(s.parentSpanId)))
    return "invalid parent span id";
  if (s.kind > 5) return "invalid span kind";
  if (s.startUnixNano === 0n || s.endUnixNano < s.startUnixNano) return "invalid start or end time";
  if (s.endUnixNano - s.startUnixNano > MAX_DURATION_NS) return "longer than 24 h";
  const startMs = Number(s.startUnixNano / 1_000_000n);
  if (startMs > now + MAX_CLOCK_SKEW_MS) return "starts in the future";
  if (startMs < oldestMs) return "older than the retention";
  if (sender.origin === "proxy") {
    const side = s.kind === 2 ? "destination" : s.kind === 3 ? "source" : null;
    if (side !== null) {
      const ns = s.attributes[`trellis.${side}.namespace`];
      const svc = s.attributes[`trellis.${side}.service`];
      if ((ns !== undefined && ns !== sender.namespace) || (svc !== undefined && svc !== sender.service))
        return "claims a call of another workload";
    }
  }
  return null;
}

function row(
  s: DecodedSpan,
  sender: SpanSender,
  version: string,
  resource: Record<string, DecodedValue>,
  scope: string,
): SpanRow {
  const a = s.attributes;
  // The other side of the call, by the mesh's own attributes; only a sidecar's (an app's are its own say-so).
  const peerSide = s.kind === 3 ? "destination" : s.kind === 2 ? "source" : null;
  const peerNs = peerSide && sender.origin === "proxy" ? a[`trellis.${peerSide}.namespace`] : undefined;
  const peerSvc = peerSide && sender.origin === "proxy" ? a[`trellis.${peerSide}.service`] : undefined;
  const start = s.startUnixNano;
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    namespace: sender.namespace,
    service: sender.service,
    version,
    origin: sender.origin,
    name: s.name || "(unnamed)",
    kind: s.kind,
    // Microseconds: what timestamptz keeps. The duration keeps the nanoseconds.
    startMicros: start / 1_000n,
    durationMs: Number(s.endUnixNano - start) / 1e6,
    statusCode: s.status.code <= 2 ? s.status.code : 0,
    statusMessage: s.status.message,
    httpStatus: intAttr(a["http.response.status_code"], 100, 599),
    grpcStatus: intAttr(a["rpc.grpc.status_code"], 0, 16),
    peerNamespace: isName(peerNs) && isName(peerSvc) ? peerNs : null,
    peerService: isName(peerNs) && isName(peerSvc) ? peerSvc : null,
    attributes: scope === "" ? a : { ...a, "otel.scope.name": scope },
    resource,
    events: s.events.map((e) => ({ ...e, timeUnixNano: e.timeUnixNano.toString() })),
  };
}

/**
 * Writes rows in one statement (arrays unnested: one round trip whatever the count). A span already stored
 * (a retried export) is left as it is. Starts go in as microseconds since the epoch (bigint, exact: `Date`
 * would drop the microseconds timestamptz keeps).
 */
export async function insertSpans(db: Db, rows: readonly SpanRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const col = <T>(f: (r: SpanRow) => T) => rows.map(f);
  return db.$executeRaw`
    INSERT INTO "TraceSpan" ("traceId","spanId","parentSpanId","namespace","service","version","origin","name",
      "kind","startedAt","durationMs","statusCode","statusMessage","httpStatus","grpcStatus","peerNamespace",
      "peerService","attributes","resource","events")
    SELECT t.trace, t.span, t.parent, t.ns, t.svc, t.ver, t.origin, t.name, t.kind,
      TIMESTAMPTZ 'epoch' + t.us * INTERVAL '1 microsecond', t.ms, t.code, t.msg, t.http, t.grpc, t.pns, t.psvc,
      t.attrs, t.res, t.events
    FROM unnest(${col((r) => r.traceId)}::text[], ${col((r) => r.spanId)}::text[],
      ${col((r) => r.parentSpanId)}::text[], ${col((r) => r.namespace)}::text[], ${col((r) => r.service)}::text[],
      ${col((r) => r.version)}::text[], ${col((r) => r.origin)}::text[], ${col((r) => r.name)}::text[],
      ${col((r) => r.kind)}::smallint[], ${col((r) => r.startMicros)}::bigint[], ${col((r) => r.durationMs)}::float8[],
      ${col((r) => r.statusCode)}::smallint[], ${col((r) => r.statusMessage)}::text[],
      ${col((r) => r.httpStatus)}::smallint[], ${col((r) => r.grpcStatus)}::smallint[],
      ${col((r) => r.peerNamespace)}::text[], ${col((r) => r.peerService)}::text[],
      ${col((r) => JSON.stringify(r.attributes))}::jsonb[], ${col((r) => JSON.stringify(r.resource))}::jsonb[],
      ${col((r) => JSON.stringify(r.events))}::jsonb[])
      AS t(trace, span, parent, ns, svc, ver, origin, name, kind, us, ms, code, msg, http, grpc, pns, psvc, attrs, res, events)
    ON CONFLICT ("traceId","spanId") DO NOTHING`;
}

export interface TraceRetention {
  /** Spans that started longer ago than this are deleted. */
  maxAgeMs: number;
  /** Past this many rows, the oldest are deleted. */
  maxSpans: number;
}

/** Deletes what is past the retention; returns the rows deleted. Best effort: the next run takes the rest. */
export async function pruneSpans(db: Db, r: TraceRetention, now = Date.now()): Promise<number> {
  let deleted =
    await db.$executeRaw`DELETE FROM "TraceSpan" WHERE "startedAt" < ${new Date(now - r.maxAgeMs)}`;
  // The count bound: at and before the start of the (maxSpans+1)-th newest row, found by the startedAt index
  // (no full count). One statement: the start keeps its microseconds, which a Date would drop.
  deleted += await db.$executeRaw`
    DELETE FROM "TraceSpan" WHERE "startedAt" <= (
      SELECT "startedAt" FROM "TraceSpan" ORDER BY "startedAt" DESC OFFSET ${r.maxSpans} LIMIT 1)`;
  return deleted;
}
