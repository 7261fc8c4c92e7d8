// Generated telemetry for the graph benchmark: SERVICES registered services in NAMESPACES namespaces, EDGES
// distinct caller → callee pairs, one row per minute per reporter and status code over the last MINUTES
// minutes, written into TelemetryRollup in SQL (so its triggers fill TelemetryEdgeRollup as they do for the
// control plane's writes). Deterministic: the same run sizes give the same rows, but for the clock.
import { createDb, type Db } from "@trellis/db";

export const SERVICES = 500;
export const EDGES = 2000;
export const NAMESPACES = 10;
/** More than an hour, so a 1-hour window is full and its first 10-minute bucket ragged. */
export const MINUTES = 70;

/** How big a mesh to generate: the graph benchmark's by default; the Lighthouse benchmark's is a small one. */
export interface Size {
  services: number;
  edges: number;
}
const GRAPH_BENCH: Size = { services: SERVICES, edges: EDGES };

export interface Generated {
  rows: number;
  edgeRollupRows: number;
  hourRollupRows: number;
  seconds: number;
  /** A service name the find box can look for, and its namespace. */
  someService: string;
  someNamespace: string;
}

const ns = (i: number) => `bench-${String(i % NAMESPACES).padStart(2, "0")}`;
const svc = (i: number) => `svc-${String(i).padStart(3, "0")}`;

/** Service `i` of a generated mesh (the first of every five has a v2 workload too). */
export const benchService = (i: number) => ({ namespace: ns(i), name: svc(i) });

/** Distinct pairs, about four callees per service, some across namespaces (seeded, so always the same). */
function edges({ services, edges: count }: Size): [number, number][] {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const seen = new Set<string>();
  const out: [number, number][] = [];
  while (out.length < count) {
    const a = Math.floor(random() * services);
    // Mostly "downstream" (a higher number), so the graph is layered like a real call tree, with some cycles.
    const b = random() < 0.85 ? a + 1 + Math.floor(random() * 40) : Math.floor(random() * services);
    if (b >= services || a === b || seen.has(`${a}>${b}`)) continue;
    seen.add(`${a}>${b}`);
    out.push([a, b]);
  }
  return out;
}

/** Per edge and minute `ago` in [fromAgo, toAgo): 200s from both reporters; a third of the edges also 503s. */
async function writeMinutes(db: Db, fromAgo: number, toAgo: number, size: Size) {
  const pairs = edges(size);
  await db.$executeRaw`
      INSERT INTO "TelemetryRollup" ("bucket", "reporter", "sourceNamespace", "sourceService", "sourceVersion",
        "destNamespace", "destService", "destVersion", "statusCode", "requests", "mtlsRequests",
        "durationSumMs", "latencyBuckets")
      SELECT date_trunc('minute', now() AT TIME ZONE 'UTC') - make_interval(mins => m), r,
        (${pairs.map(([a]) => ns(a))}::text[])[e], (${pairs.map(([a]) => svc(a))}::text[])[e], 'v1',
        (${pairs.map(([, b]) => ns(b))}::text[])[e], (${pairs.map(([, b]) => svc(b))}::text[])[e], 'v1', code,
        CASE WHEN code = 200 THEN 50 + (e * 7 + m) % 200 ELSE 1 + (e + m) % 5 END,
        CASE WHEN e % 10 = 0 THEN 0 ELSE 50 END,
        1000.0,
        ARRAY[0, 1, 5, 20, 40, 10, 5, 2, 1, 0, 0, 0, 0, (e % 3)]::bigint[]
      FROM generate_series(1, ${pairs.length}::int) AS e, generate_series(${fromAgo}::int, ${toAgo}::int - 1) AS m,
        unnest(ARRAY['outbound', 'inbound']) AS r, unnest(ARRAY[200, 503]) AS code
      WHERE code = 200 OR e % 3 = 0`;
}

/**
 * Traffic keeps flowing: adds the minutes since the newest written one, up to the current minute, so a page
 * opened minutes after `generate` still sees every edge in its default 5-minute window.
 */
export async function topUp(url: string, size = GRAPH_BENCH): Promise<number> {
  const db = createDb(url);
  try {
    const [{ gap } = { gap: 0 }] = await db.$queryRaw<{ gap: number }[]>`
      SELECT (extract(epoch FROM date_trunc('minute', now() AT TIME ZONE 'UTC') - max("bucket")) / 60)::int AS gap
      FROM "TelemetryRollup"`;
    if (gap > 0) await writeMinutes(db, 0, gap, size);
    return gap;
  } finally {
    await db.$disconnect();
  }
}

export async function generate(url: string, size = GRAPH_BENCH): Promise<Generated> {
  const started = performance.now();
  const db = createDb(url);
  try {
    // Registered services with a workload each (a fifth of them with a second version), as proxies leave them.
    const names = Array.from({ length: size.services }, (_, i) => i);
    await db.$executeRaw`
      INSERT INTO "Service" ("id", "namespace", "name", "updatedAt")
      SELECT 'bench-' || n, (${names.map(ns)}::text[])[n + 1], (${names.map(svc)}::text[])[n + 1], now()
      FROM unnest(${names}::int[]) AS n
      ON CONFLICT DO NOTHING`;
    await db.$executeRaw`
      INSERT INTO "Workload" ("id", "serviceId", "version", "address", "identity", "status")
      SELECT 'bench-' || n || '-' || v, 'bench-' || n, v, '127.0.0.1:1', 'spiffe://bench/' || n, 'disconnected'
      FROM unnest(${names}::int[]) AS n, unnest(ARRAY['v1', 'v2']) AS v
      WHERE v = 'v1' OR n % 5 = 0
      ON CONFLICT DO NOTHING`;

    // A minute at a time, oldest first, as the control plane writes them (each in its own transaction).
    for (let ago = MINUTES - 1; ago >= 0; ago--) await writeMinutes(db, ago, ago + 1, size);
    // What autovacuum would have done by now on a live system: statistics, and dead row versions reclaimed.
    await db.$executeRaw`VACUUM ANALYZE "TelemetryRollup"`;
    await db.$executeRaw`VACUUM ANALYZE "TelemetryEdgeRollup"`;
    await db.$executeRaw`VACUUM ANALYZE "TelemetryEdgeRollupHour"`;
    const [counts] = await db.$queryRaw<{ rows: bigint; edge: bigint; hour: bigint }[]>`
      SELECT (SELECT count(*) FROM "TelemetryRollup") AS rows, (SELECT count(*) FROM "TelemetryEdgeRollup") AS edge,
        (SELECT count(*) FROM "TelemetryEdgeRollupHour") AS hour`;
    return {
      rows: Number(counts!.rows),
      edgeRollupRows: Number(counts!.edge),
      hourRollupRows: Number(counts!.hour),
      seconds: (performance.now() - started) / 1000,
      someService: svc(Math.max(0, size.services - 7)),
      someNamespace: ns(Math.max(0, size.services - 7)),
    };
  } finally {
    await db.$disconnect();
  }
}
