// Telemetry from proxies, summed per minute in memory and added into PostgreSQL rollups every few seconds.
// Several replicas may add into the same row: the upsert adds, it never overwrites.
import type { Db } from "@trellis/db";
import { seriesProtocol, type AccessObservation, type TelemetrySeries } from "@trellis/contracts";

const MINUTE = 60_000;

interface Accum {
  bucket: Date;
  s: TelemetrySeries;
}

interface AccessAccum {
  bucket: Date;
  o: AccessObservation;
}

export class TelemetryAggregator {
  private pending = new Map<string, Accum>();
  /** Access observations (decision 006), summed per minute like the series. */
  private pendingAccess = new Map<string, AccessAccum>();
  /** Series refused since start (telemetry-scope.ts): out of bounds, or traffic the proxy took no part in. */
  refused = 0;

  countRefused(n: number): void {
    this.refused += n;
  }

  /** Adds one report's series into the current minute. */
  add(series: readonly TelemetrySeries[], at = Date.now()): void {
    const bucket = new Date(Math.floor(at / MINUTE) * MINUTE);
    for (const s of series) {
      // Older proxies send no protocol: theirs is inferred (TCP for code 0, else HTTP/1.1).
      const protocol = seriesProtocol(s);
      const key = `${bucket.getTime()}|${s.reporter}|${s.source.namespace}|${s.source.service}|${s.source.version}|${s.destination.namespace}|${s.destination.service}|${s.destination.version}|${s.code}|${protocol}`;
      const a = this.pending.get(key);
      if (!a) {
        this.pending.set(key, { bucket, s: { ...s, protocol, buckets: [...s.buckets] } });
        continue;
      }
      a.s.requests += s.requests;
      a.s.mtlsRequests += s.mtlsRequests;
      a.s.durationSumMs += s.durationSumMs;
      a.s.bytesSent += s.bytesSent;
      a.s.bytesReceived += s.bytesReceived;
      for (let i = 0; i < a.s.buckets.length; i++) a.s.buckets[i]! += s.buckets[i] ?? 0;
    }
  }

  /** Adds one report's access observations into the current minute. */
  addAccess(observations: readonly AccessObservation[], at = Date.now()): void {
    const bucket = new Date(Math.floor(at / MINUTE) * MINUTE);
    for (const o of observations) {
      // Names are DNS labels and the path is printable ASCII: NUL separates them unambiguously, and the key
      // sorts in the order flush takes row locks.
      const key = [
        String(bucket.getTime()).padStart(15, "0"),
        o.destination.namespace,
        o.destination.service,
        o.source.namespace,
        o.source.service,
        o.method,
        o.path,
      ].join("\u0000");
      const a = this.pendingAccess.get(key);
      if (a === undefined) this.pendingAccess.set(key, { bucket, o: { ...o } });
      else a.o.requests += o.requests;
    }
  }

  get size(): number {
    return this.pending.size + this.pendingAccess.size;
  }

  /** Writes everything gathered so far. On failure the data is kept for the next flush. */
  async flush(db: Db): Promise<number> {
    // Series and access observations are written apart: one failing keeps the other flowing (and is retried).
    const [series, access] = await Promise.allSettled([this.flushSeries(db), this.flushAccess(db)]);
    if (series.status === "rejected") throw series.reason;
    if (access.status === "rejected") throw access.reason;
    return series.value + access.value;
  }

  private async flushSeries(db: Db): Promise<number> {
    if (this.pending.size === 0) return 0;
    // Each row's trigger also locks its 10-minute and hour rows. The edges are locked first (lockEdges), so two
    // replicas never interleave on one edge; rows still go in one order, edge bucket and edge first.
    const batch = inLockOrder([...this.pending.values()]);
    this.pending = new Map();
    try {
      await db.$transaction([
        lockEdges(db, batch),
        ...batch.map(
          ({ bucket, s }) =>
            db.$executeRaw`
            INSERT INTO "TelemetryRollup" ("bucket","reporter","sourceNamespace","sourceService","sourceVersion",
              "destNamespace","destService","destVersion","statusCode","protocol","requests","mtlsRequests","durationSumMs",
              "latencyBuckets","bytesSent","bytesReceived")
            VALUES (${bucket}, ${s.reporter}, ${s.source.namespace}, ${s.source.service}, ${s.source.version},
              ${s.destination.namespace}, ${s.destination.service}, ${s.destination.version}, ${s.code},
              ${seriesProtocol(s)}, ${BigInt(s.requests)}, ${BigInt(s.mtlsRequests)}, ${s.durationSumMs}, ${s.buckets.map(BigInt)}::bigint[],
              ${BigInt(s.bytesSent)}, ${BigInt(s.bytesReceived)})
            ON CONFLICT ("bucket","reporter","sourceNamespace","sourceService","sourceVersion",
              "destNamespace","destService","destVersion","statusCode","protocol") DO UPDATE SET
              "requests" = "TelemetryRollup"."requests" + EXCLUDED."requests",
              "mtlsRequests" = "TelemetryRollup"."mtlsRequests" + EXCLUDED."mtlsRequests",
              "durationSumMs" = "TelemetryRollup"."durationSumMs" + EXCLUDED."durationSumMs",
              "bytesSent" = "TelemetryRollup"."bytesSent" + EXCLUDED."bytesSent",
              "bytesReceived" = "TelemetryRollup"."bytesReceived" + EXCLUDED."bytesReceived",
              "latencyBuckets" = ARRAY(SELECT a + b FROM unnest("TelemetryRollup"."latencyBuckets", EXCLUDED."latencyBuckets") AS t(a, b))`,
        ),
      ]);
      return batch.length;
    } catch (e) {
      for (const a of batch) this.add([a.s], a.bucket.getTime());
      throw e;
    }
  }

  /** Writes the access observations gathered so far, in key order (replicas lock rows in the same order). */
  private async flushAccess(db: Db): Promise<number> {
    if (this.pendingAccess.size === 0) return 0;
    const batch = [...this.pendingAccess].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, a]) => a);
    this.pendingAccess = new Map();
    try {
      await db.$transaction(
        batch.map(
          ({ bucket, o }) =>
            db.$executeRaw`
            INSERT INTO "TelemetryAccessRollup" ("bucket","destNamespace","destService","sourceNamespace",
              "sourceService","method","path","requests")
            VALUES (${bucket}, ${o.destination.namespace}, ${o.destination.service}, ${o.source.namespace},
              ${o.source.service}, ${o.method}, ${o.path}, ${BigInt(o.requests)})
            ON CONFLICT ("bucket","destNamespace","destService","sourceNamespace","sourceService","method","path")
            DO UPDATE SET "requests" = "TelemetryAccessRollup"."requests" + EXCLUDED."requests"`,
        ),
      );
      return batch.length;
    } catch (e) {
      for (const a of batch) this.addAccess([a.o], a.bucket.getTime());
      throw e;
    }
  }
}

/** pg_advisory_xact_lock's first key: the class of "a telemetry edge" (any fixed number; only we take these). */
const EDGE_LOCK_CLASS = 0x7e1e;
/**
 * Edges share this many locks (a power of 2). Not one per edge: every advisory lock held takes a slot of
 * PostgreSQL's shared lock table (about 64 × max_connections by default: 6,400), and two replicas flushing 2,000
 * edges from both reporters would hold 8,000 at once ("out of shared memory").
 */
const EDGE_LOCK_STRIPES = 256;

/**
 * A transaction-scoped lock for the edges (reporter, caller, callee) in the batch, taken before any row, in the
 * order of the keys, so two replicas never hold row locks of the same edge at once. Row order alone is not
 * enough since the hour rollup (decision 020): a per-minute row's trigger locks its 10-minute row and then
 * its hour row, so a replica still flushing 10:09 holds the hour rows of 11:00's edges while it goes on to
 * 10:10's minute rows, which a replica flushing only 10:10 already holds, and that one waits for the hour rows:
 * deadlock (telemetry.test.ts reproduces it). Keys are hash stripes; edges sharing one only serialize more.
 */
function lockEdges(db: Db, batch: Accum[]) {
  // JSON, not a NUL-joined key: PostgreSQL text cannot hold NUL.
  const edges = [...new Set(batch.map(({ s }) => JSON.stringify(edgeKeyFields(s))))];
  // The aggregate takes its input in the subquery's order: the locks in ascending key order.
  return db.$queryRaw<{ n: number }[]>`
    SELECT count(pg_advisory_xact_lock(${EDGE_LOCK_CLASS}::int, k))::int AS n
    FROM (SELECT DISTINCT hashtext(e) & ${EDGE_LOCK_STRIPES - 1} AS k FROM unnest(${edges}::text[]) AS e ORDER BY 1) AS keys`;
}

/** What identifies an edge for the locks and their order: the reporter, then the caller and callee. */
function edgeKeyFields(s: Accum["s"]): string[] {
  return [
    s.reporter,
    s.source.namespace,
    s.source.service,
    s.source.version,
    s.destination.namespace,
    s.destination.service,
    s.destination.version,
  ];
}

const EDGE_BUCKET = 10 * MINUTE;
function inLockOrder(batch: Accum[]): Accum[] {
  const keyed = batch.map((a) => {
    const t = a.bucket.getTime();
    const { s } = a;
    // Numbers padded, so the keys sort as strings; names never hold NUL.
    const key = [
      String(Math.floor(t / EDGE_BUCKET)).padStart(12, "0"),
      ...edgeKeyFields(s),
      String(t).padStart(15, "0"),
      String(s.code).padStart(4, "0"),
    ].join("\u0000");
    return { key, a };
  });
  keyed.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  return keyed.map((k) => k.a);
}

/**
 * Deletes rollups older than the retention (TelemetryEdgeRollup follows by trigger), and access observations
 * with the same cutoff, so the two cover the same minutes (the suggestion compares their counts).
 */
export async function pruneRollups(db: Db, retentionMs: number): Promise<number> {
  const cutoff = new Date(Date.now() - retentionMs);
  const [r] = await db.$transaction([
    db.telemetryRollup.deleteMany({ where: { bucket: { lt: cutoff } } }),
    db.telemetryAccessRollup.deleteMany({ where: { bucket: { lt: cutoff } } }),
  ]);
  return r.count;
}
