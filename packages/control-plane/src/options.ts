// The control plane's public surface: how a replica is configured, what it reports, and the handle
// startControlPlane returns. When to edit this file: a new option or stat (document the default and why).
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { DEFAULT_CONTROL_PLANE_PORT, DEFAULT_SERVICE_VIP_CIDR } from "@trellis/contracts";
import type { CompileFn } from "./snapshots.js";

export interface ControlPlaneOptions {
  databaseUrl: string;
  /** Mesh secret: decrypts the CA key. */
  secret: string;
  compile: CompileFn;
  host?: string;
  port?: number;
  trustDomain?: string;
  /** Extra DNS names or IPs proxies use to reach this replica (its serving certificate covers them). */
  advertiseHosts?: string[];
  /** Workload certificate lifetime (default 24 h); proxies renew at half-life. */
  certTtlMs?: number;
  heartbeatMs?: number;
  /**
   * A registration its replica has not heartbeated for this long (default 6 heartbeats, at least 30 s) belongs
   * to a replica that is gone; it is marked gone once the fleet has stopped rejoining (none re-registered for
   * this long) or 20 times this long after its last heartbeat, whichever comes first (`sweepStaleWorkloads`).
   */
  workloadStaleAfterMs?: number;
  telemetryIntervalMs?: number;
  /**
   * How often telemetry gathered from reports is written to PostgreSQL (default 2 s, and never less often than
   * proxies report). Reports arrive spread over the proxies' interval, so flushing soon after each costs about
   * the same rows as flushing once per interval, and a report reaches the graph seconds after it is sent.
   */
  telemetryFlushMs?: number;
  telemetryRetentionMs?: number;
  /**
   * The trace store (docs/decisions/017-trace-store.md): spans are kept this long (default 24 h) and at most
   * `maxStoredSpans` rows (default 1,000,000, about 1–2 GB of PostgreSQL), the oldest going first.
   */
  traceRetentionMs?: number;
  maxStoredSpans?: number;
  /**
   * Spans per second one service may send to this replica (default 1000), with ten seconds' worth as a burst:
   * one sidecar at 100 % sampling cannot fill the store for everyone. Past it, spans are refused (counted).
   */
  traceSpansPerSecond?: number;
  /**
   * An external collector to hand every stored span on to (OTLP/HTTP protobuf: Jaeger, Tempo, an OpenTelemetry
   * Collector), with headers to send (an API key). Default: none.
   */
  traceForward?: { endpoint: string; headers?: Record<string, string> };
  /** Changes arriving within this window are compiled and pushed once. */
  debounceMs?: number;
  /**
   * Recomputes for registry changes alone (proxies joining or leaving) start at most this often (default 1 s),
   * so a join storm of thousands is pushed as a few batches of endpoint deltas, not one per join. Applied
   * changes are not held back: they go after `debounceMs`.
   */
  registryIntervalMs?: number;
  replicaId?: string;
  /**
   * Streams one join token may hold open on this replica at once (default 256): a namespace-wide token is one
   * secret for any number of proxies, and each stream costs a socket, a session and a registry row. One more
   * is refused (close 4429, `STREAM_LIMIT`); the proxy retries with backoff, so it joins when a place frees.
   */
  maxStreamsPerJoinToken?: number;
  /**
   * The block service virtual IPs are allocated from (default 240.0.0.0/4, `DEFAULT_SERVICE_VIP_CIDR`: reserved,
   * never routed, so a VIP is never someone's real address). At least a /30; its first and last addresses are
   * never given. Changing it gives new services VIPs from the new block; existing ones keep theirs
   * (docs/decisions/013-service-vips.md). Replicas sharing a database should be given the same block.
   */
  serviceVipCidr?: string;
  log?: (line: string) => void;
}

export const DEFAULT_MAX_STREAMS_PER_JOIN_TOKEN = 256;

/** The options with every default filled in: the one place the defaults documented above are applied. */
export type ResolvedOptions = Required<
  Omit<ControlPlaneOptions, "trustDomain" | "advertiseHosts" | "traceForward">
> &
  Pick<ControlPlaneOptions, "trustDomain" | "advertiseHosts" | "traceForward">;

export function withDefaults(opts: ControlPlaneOptions): ResolvedOptions {
  const telemetryIntervalMs = opts.telemetryIntervalMs ?? 10_000;
  const heartbeatMs = opts.heartbeatMs ?? 5_000;
  return {
    ...opts,
    host: opts.host ?? "127.0.0.1",
    port: opts.port ?? DEFAULT_CONTROL_PLANE_PORT,
    certTtlMs: opts.certTtlMs ?? 86_400_000,
    heartbeatMs,
    workloadStaleAfterMs: opts.workloadStaleAfterMs ?? Math.max(30_000, heartbeatMs * 6),
    telemetryIntervalMs,
    telemetryFlushMs: Math.min(opts.telemetryFlushMs ?? 2_000, telemetryIntervalMs),
    telemetryRetentionMs: opts.telemetryRetentionMs ?? 7 * 86_400_000,
    traceRetentionMs: opts.traceRetentionMs ?? 86_400_000,
    maxStoredSpans: opts.maxStoredSpans ?? 1_000_000,
    traceSpansPerSecond: opts.traceSpansPerSecond ?? 1_000,
    debounceMs: opts.debounceMs ?? 50,
    registryIntervalMs: opts.registryIntervalMs ?? 1_000,
    replicaId: opts.replicaId ?? `${hostname()}-${randomBytes(3).toString("hex")}`,
    maxStreamsPerJoinToken: opts.maxStreamsPerJoinToken ?? DEFAULT_MAX_STREAMS_PER_JOIN_TOKEN,
    serviceVipCidr: opts.serviceVipCidr ?? DEFAULT_SERVICE_VIP_CIDR,
    log: opts.log ?? (() => {}),
  };
}

/** The URL proxies are told to use for a replica listening on `host` (a wildcard address means this host). */
export function replicaUrl(host: string, port: number): string {
  const h = host !== "0.0.0.0" && host !== "::" ? host : "127.0.0.1";
  return `https://${h.includes(":") ? `[${h}]` : h}:${port}`;
}

export interface ControlPlaneStats {
  sessions: number;
  /**
   * Of `sessions`, the proxies that hold (ACKed, or announced when they reconnected) the version this replica
   * compiles for them from what it last read: all of them is a replica in step with its proxies.
   */
  inSync: number;
  /** Duration of the last recompute (load, compile, push), and of its phases. */
  lastRecomputeMs: number;
  lastRecomputePhases: { loadMs: number; buildMs: number; recordMs: number; pushMs: number };
  groups: number;
  pushes: number;
  recomputes: number;
  /** Messages written to proxies: whole configs and deltas, and their bytes. */
  wholeConfigs: number;
  deltas: number;
  bytesPushed: number;
  /** Telemetry series refused (out of bounds, or traffic the reporting proxy took no part in); never stored. */
  telemetryRefused: number;
  /** Spans the trace intake stored and refused; spans handed on to the external collector, and dropped doing so. */
  traces: { accepted: number; refused: number; forwarded: number; forwardDropped: number };
}

export interface ControlPlane {
  url: string;
  port: number;
  replicaId: string;
  caPem: string;
  caFingerprint: string;
  stats(): ControlPlaneStats;
  /** Recompile and push now (tests; production relies on NOTIFY). */
  refresh(generation?: number): Promise<void>;
  close(): Promise<void>;
}
