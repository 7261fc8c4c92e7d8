// Reading the trace store (docs/decisions/017-trace-store.md). A span is its sending workload's; a viewer sees
// the spans of the namespaces they may read and the others of a trace they can see only as redacted spans
// (timing and place in the tree: enough to see where the time went, nothing of what the other namespace does).
// A search finds traces by their visible spans only, so a filter cannot probe another namespace.
import {
  SPAN_KINDS,
  TRACE_DEFAULT_WINDOW_MS,
  ZTraceGetInput,
  ZTraceListInput,
  type Trace,
  type TraceList,
  type TraceListInput,
  type TraceSpan,
} from "@trellis/contracts";
import { Prisma, type Db } from "@trellis/db";
import { readableNamespaces, requireRole, type Actor } from "./actor.js";
import { AppError, parseInput } from "./errors.js";

/** The namespaces whose spans the actor sees, as an SQL condition on "namespace". */
function visibleSql(actor: Actor): Prisma.Sql {
  const readable = readableNamespaces(actor);
  if (readable === "all") return Prisma.sql`TRUE`;
  if (readable.length === 0) requireRole(actor, "viewer"); // throws: a user bound nowhere reads nothing
  return Prisma.sql`"namespace" = ANY(${readable}::text[])`;
}

interface SummaryRow {
  traceId: string;
  startedAt: Date;
  durationMs: number;
  spans: bigint;
  errors: bigint;
  redacted: bigint;
  services: string[] | null;
  rootName: string | null;
  rootNamespace: string | null;
  rootService: string | null;
}

export async function listTraces(db: Db, actor: Actor, rawInput: TraceListInput): Promise<TraceList> {
  const input = parseInput(ZTraceListInput, rawInput);
  if (input.namespace) requireRole(actor, "viewer", input.namespace);
  const visible = visibleSql(actor);
  const until = input.until ? new Date(input.until) : new Date();
  const since = input.since ? new Date(input.since) : new Date(until.getTime() - TRACE_DEFAULT_WINDOW_MS);
  if (since >= until) throw new AppError("VALIDATION_FAILED", "since must be before until");

  // Which spans make a trace match: visible ones only, in the window, of the service (and peer) asked for.
  const conditions = [visible, Prisma.sql`"startedAt" >= ${since}`, Prisma.sql`"startedAt" < ${until}`];
  if (input.namespace) conditions.push(Prisma.sql`"namespace" = ${input.namespace}`);
  if (input.service) conditions.push(Prisma.sql`"service" = ${input.service}`);
  if (input.peerService) {
    conditions.push(Prisma.sql`"peerService" = ${input.peerService}`);
    if (input.peerNamespace) conditions.push(Prisma.sql`"peerNamespace" = ${input.peerNamespace}`);
  }
  // Failed traces: those with a failed span the caller may see (a redacted span's status is not theirs to know).
  if (input.status === "error")
    conditions.push(Prisma.sql`"traceId" IN (
      SELECT "traceId" FROM "TraceSpan"
      WHERE "statusCode" = 2 AND "startedAt" >= ${since} AND "startedAt" < ${until} AND ${visible})`);
  const having: Prisma.Sql[] = [Prisma.sql`TRUE`];
  if (input.minDurationMs !== undefined) having.push(Prisma.sql`${durationSql} >= ${input.minDurationMs}`);
  if (input.status === "ok")
    having.push(Prisma.sql`count(*) FILTER (WHERE s."statusCode" = 2 AND ${visible}) = 0`);
  const order = input.order === "slowest" ? Prisma.sql`"durationMs" DESC` : Prisma.sql`"startedAt" DESC`;

  // The candidates: without a minimum duration (which needs every span of a trace), only the newest (or the
  // ones with the longest span) few times `limit` are aggregated, not every trace of the window: a busy hour
  // holds tens of thousands.
  const candidates =
    input.minDurationMs === undefined
      ? Prisma.sql`GROUP BY "traceId" ORDER BY ${
          input.order === "slowest" ? Prisma.sql`max("durationMs")` : Prisma.sql`max("startedAt")`
        } DESC LIMIT ${Math.min(1000, input.limit * 5)}`
      : Prisma.sql`GROUP BY "traceId"`;
  const rows = await db.$queryRaw<SummaryRow[]>`
    WITH matched AS (
      SELECT "traceId" FROM "TraceSpan" WHERE ${Prisma.join(conditions, " AND ")} ${candidates}
    ), traces AS (
      SELECT s."traceId",
             min(s."startedAt") AS "startedAt",
             ${durationSql} AS "durationMs",
             count(*) AS spans,
             count(*) FILTER (WHERE s."statusCode" = 2 AND ${visible}) AS errors,
             count(*) FILTER (WHERE NOT (${visible})) AS redacted,
             array_agg(DISTINCT s."namespace" || '/' || s."service") FILTER (WHERE ${visible}) AS services
      FROM "TraceSpan" s JOIN matched m ON m."traceId" = s."traceId"
      GROUP BY s."traceId"
      HAVING ${Prisma.join(having, " AND ")}
      ORDER BY ${order}
      LIMIT ${input.limit}
    )
    SELECT t.*, r.name AS "rootName", r.namespace AS "rootNamespace", r.service AS "rootService"
    FROM traces t
    LEFT JOIN LATERAL (
      SELECT CASE WHEN ${visible} THEN name END AS name,
             CASE WHEN ${visible} THEN namespace END AS namespace,
             CASE WHEN ${visible} THEN service END AS service
      FROM "TraceSpan" WHERE "traceId" = t."traceId"
      ORDER BY ("parentSpanId" IS NOT NULL), "startedAt", "durationMs" DESC LIMIT 1
    ) r ON TRUE
    ORDER BY ${order}`;

  return {
    since: since.toISOString(),
    until: until.toISOString(),
    items: rows.map((r) => ({
      traceId: r.traceId,
      startedAt: r.startedAt.toISOString(),
      durationMs: round3(r.durationMs),
      root:
        r.rootName !== null && r.rootNamespace !== null && r.rootService !== null
          ? { name: r.rootName, namespace: r.rootNamespace, service: r.rootService }
          : null,
      spans: Number(r.spans),
      errors: Number(r.errors),
      redactedSpans: Number(r.redacted),
      services: (r.services ?? []).sort().map((s) => {
        const [namespace, service] = s.split("/") as [string, string];
        return { namespace, service };
      }),
    })),
  };
}

/** A trace's extent: from the first start to the last end, in ms (starts to the microsecond). */
const durationSql = Prisma.sql`(max(extract(epoch FROM s."startedAt") * 1000 + s."durationMs") - extract(epoch FROM min(s."startedAt")) * 1000)`;

const round3 = (n: number) => Math.round(n * 1000) / 1000;

interface SpanRow {
  spanId: string;
  parentSpanId: string | null;
  namespace: string;
  service: string;
  version: string;
  origin: string;
  name: string;
  kind: number;
  startedAt: Date;
  startUs: bigint;
  durationMs: number;
  statusCode: number;
  statusMessage: string;
  httpStatus: number | null;
  grpcStatus: number | null;
  attributes: Record<string, TraceSpan["attributes"][string]>;
  events: {
    name: string;
    timeUnixNano: string;
    attributes: Record<string, TraceSpan["attributes"][string]>;
  }[];
  visible: boolean;
}

const STATUS = ["unset", "ok", "error"] as const;

/** One trace, its spans by start; NOT_FOUND when the caller sees none of its spans (or there are none). */
export async function getTrace(db: Db, actor: Actor, rawInput: { traceId: string }): Promise<Trace> {
  const { traceId } = parseInput(ZTraceGetInput, rawInput);
  const visible = visibleSql(actor);
  const rows = await db.$queryRaw<SpanRow[]>`
    SELECT "spanId", "parentSpanId", "namespace", "service", "version", "origin", "name", "kind", "startedAt",
           (extract(epoch FROM "startedAt") * 1000000)::bigint AS "startUs", "durationMs", "statusCode",
           "statusMessage", "httpStatus", "grpcStatus", "attributes", "events", (${visible}) AS visible
    FROM "TraceSpan" WHERE "traceId" = ${traceId}
    ORDER BY "startedAt", "durationMs" DESC`;
  // A trace none of whose spans the caller may read does not exist for them (its id says nothing either).
  if (!rows.some((r) => r.visible)) throw new AppError("NOT_FOUND", `no trace ${traceId}`);
  const firstUs = rows[0]!.startUs;
  let endMs = 0;
  const spans: TraceSpan[] = rows.map((r) => {
    const offsetMs = Number(r.startUs - firstUs) / 1000;
    endMs = Math.max(endMs, offsetMs + r.durationMs);
    const common = {
      spanId: r.spanId.trim(),
      parentSpanId: r.parentSpanId?.trim() ?? null,
      startedAt: r.startedAt.toISOString(),
      offsetMs: round3(offsetMs),
      durationMs: round3(r.durationMs),
      kind: SPAN_KINDS[r.kind] ?? "unspecified",
    };
    if (!r.visible)
      return {
        ...common,
        redacted: true,
        namespace: "",
        service: "",
        version: "",
        origin: "",
        name: "",
        status: "",
        statusMessage: "",
        httpStatus: null,
        grpcStatus: null,
        attributes: {},
        events: [],
      };
    return {
      ...common,
      redacted: false,
      namespace: r.namespace,
      service: r.service,
      version: r.version,
      origin: r.origin === "app" ? "app" : "proxy",
      name: r.name,
      status: STATUS[r.statusCode] ?? "unset",
      statusMessage: r.statusMessage,
      httpStatus: r.httpStatus,
      grpcStatus: r.grpcStatus,
      attributes: r.attributes,
      events: r.events.map((e) => ({
        name: e.name,
        offsetMs: round3(Number(BigInt(e.timeUnixNano) / 1000n - firstUs) / 1000),
        attributes: e.attributes,
      })),
    };
  });
  return { traceId, startedAt: rows[0]!.startedAt.toISOString(), durationMs: round3(endMs), spans };
}
