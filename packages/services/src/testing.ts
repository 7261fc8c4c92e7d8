// `@trellis/services/testing`: telemetry rows for tests of what services read from it (traffic, the graph,
// change impact, policy suggestions), written as the control plane's aggregator writes them: one row per
// minute, reporter, caller, callee, status code and protocol, with the latency histogram over contracts'
// LATENCY_BUCKETS_MS. The tests of services, api and the CLI seed through these rather than spelling the rows
// (and the minute arithmetic, and the histogram's length) again. For tests only: nothing here is safe to call
// against a database that holds real telemetry.
import { LATENCY_BUCKETS_MS } from "@trellis/contracts";
import type { Db, Prisma } from "@trellis/db";

/** The start of the minute `minutes` before the one `now` falls in (0: the current minute, still filling). */
export function minuteAgo(minutes: number, now = Date.now()): Date {
  return new Date(Math.floor(now / 60_000) * 60_000 - minutes * 60_000);
}

/** A caller or callee as a rollup row names it: namespace, service and version ("v1" unless given). */
export type RollupPeer = readonly [namespace: string, service: string, version?: string];

/** `requests` calls from `source` to `destination` in one minute, as one side's sidecar reported them. */
export interface RollupCalls {
  reporter: "inbound" | "outbound";
  source: RollupPeer;
  destination: RollupPeer;
  requests: number;
  /** The minute (default: the current one, `minuteAgo(0)`). */
  bucket?: Date;
  /** Default 200; 0 for a TCP connection. */
  statusCode?: number;
  /** Default: the column's default, `http1`. */
  protocol?: string;
  /** Requests that came over mTLS (default: all of them). */
  mtlsRequests?: number;
  /**
   * How long each request took (default 1 ms): `durationSumMs` is `requests` times it, and the histogram holds
   * every request in the first bucket whose upper bound is at least this (the overflow bucket past the last).
   */
  latencyMs?: number;
}

/** The TelemetryRollup row for `calls`, for a test that writes many with `createMany` or edits one first. */
export function rollupRow(calls: RollupCalls): Prisma.TelemetryRollupCreateManyInput {
  const latencyMs = calls.latencyMs ?? 1;
  const histogram = new Array<bigint>(LATENCY_BUCKETS_MS.length + 1).fill(0n);
  const slot = LATENCY_BUCKETS_MS.findIndex((bound) => latencyMs <= bound);
  histogram[slot === -1 ? LATENCY_BUCKETS_MS.length : slot] = BigInt(calls.requests);
  return {
    bucket: calls.bucket ?? minuteAgo(0),
    reporter: calls.reporter,
    sourceNamespace: calls.source[0],
    sourceService: calls.source[1],
    sourceVersion: calls.source[2] ?? "v1",
    destNamespace: calls.destination[0],
    destService: calls.destination[1],
    destVersion: calls.destination[2] ?? "v1",
    statusCode: calls.statusCode ?? 200,
    ...(calls.protocol !== undefined ? { protocol: calls.protocol } : {}),
    requests: BigInt(calls.requests),
    mtlsRequests: BigInt(calls.mtlsRequests ?? calls.requests),
    durationSumMs: calls.requests * latencyMs,
    latencyBuckets: histogram,
  };
}

/** Writes one TelemetryRollup row per entry of `calls`. */
export async function seedRollups(db: Db, ...calls: RollupCalls[]): Promise<void> {
  await db.telemetryRollup.createMany({ data: calls.map(rollupRow) });
}

/**
 * `requests` calls from `source` to `destination`'s `method` and path prefix in one minute, as the callee's
 * sidecar observed them (TelemetryAccessRollup: inbound only, no versions).
 */
export interface AccessObservation {
  source: readonly [namespace: string, service: string];
  destination: readonly [namespace: string, service: string];
  method: string;
  path: string;
  requests: number;
  /** The minute (default: the current one). */
  bucket?: Date;
}

/** Writes one TelemetryAccessRollup row per observation. */
export async function seedAccessRollups(db: Db, ...observed: AccessObservation[]): Promise<void> {
  await db.telemetryAccessRollup.createMany({
    data: observed.map((o) => ({
      bucket: o.bucket ?? minuteAgo(0),
      destNamespace: o.destination[0],
      destService: o.destination[1],
      sourceNamespace: o.source[0],
      sourceService: o.source[1],
      method: o.method,
      path: o.path,
      requests: BigInt(o.requests),
    })),
  });
}
