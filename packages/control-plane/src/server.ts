// The control plane: a TLS server that proxies join with a token, get a certificate from the mesh CA, and
// hold a stream on which they receive versioned config snapshots and answer ACK or NACK. Several replicas
// can share one database: each serves its own proxies and hears every change through LISTEN/NOTIFY.
//
// When to edit this file: wiring (what starts, what listens, timers). Protocol handling per proxy lives in
// session.ts, snapshot building in snapshots.ts, the registry in registry.ts.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type pg from "pg";
import {
  decodeNotifyPayload,
  DEFAULT_TRUST_DOMAIN,
  NOTIFY_CHANNELS,
  ZConfigChangedPayload,
  ZJoinTokenRevokedPayload,
} from "@trellis/contracts";
import { createDb, type Db } from "@trellis/db";
import { MeshCa } from "./ca.js";
import {
  loadRegistry,
  pruneRevokedCertificates,
  sweepStaleWorkloads,
  touchWorkloads,
  type RegistrySnapshot,
} from "./registry.js";
import { Rollout, type RolloutEntry } from "./rollout.js";
import { joinTokenAuth } from "./join-auth.js";
import { createMeshServer } from "./mesh-server.js";
import { startNotifyListener } from "./notify-listener.js";
import { startTimers } from "./timers.js";
import { PushQueue } from "./push-queue.js";
import { createRecomputeScheduler, type Dirty } from "./recompute-scheduler.js";
import { createSnapshotStore } from "./snapshot-store.js";
import { createRevocations } from "./revocations.js";
import { ProxySession } from "./session.js";
import {
  encodeFor,
  groupKey,
  SnapshotBuilder,
  type CompileFn,
  type Encoded,
  type ProxyGroup,
  type ResourceRecord,
  type Snapshot,
} from "./snapshots.js";
import { pruneRollups, TelemetryAggregator } from "./telemetry.js";

// The channels' names and payloads are defined in @trellis/contracts (notify.ts); kept here for callers and tests.
export const CONFIG_CHANGED_CHANNEL = NOTIFY_CHANNELS.configChanged;
export const REGISTRY_CHANGED_CHANNEL = NOTIFY_CHANNELS.registryChanged;
export const JOIN_TOKEN_REVOKED_CHANNEL = NOTIFY_CHANNELS.joinTokenRevoked;

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
  telemetryIntervalMs?: number;
  /**
   * How often telemetry gathered from reports is written to PostgreSQL (default 2 s, and never less often than
   * proxies report). Reports arrive spread over the proxies' interval, so flushing soon after each costs about
   * the same rows as flushing once per interval, and a report reaches the graph seconds after it is sent.
   */
  telemetryFlushMs?: number;
  telemetryRetentionMs?: number;
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
  log?: (line: string) => void;
}

export const DEFAULT_MAX_STREAMS_PER_JOIN_TOKEN = 256;

export interface ControlPlaneStats {
  sessions: number;
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

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const log = opts.log ?? (() => {});
  const replicaId = opts.replicaId ?? `${hostname()}-${randomBytes(3).toString("hex")}`;
  const heartbeatMs = opts.heartbeatMs ?? 5_000;
  const telemetryIntervalMs = opts.telemetryIntervalMs ?? 10_000;
  const telemetryFlushMs = Math.min(opts.telemetryFlushMs ?? 2_000, telemetryIntervalMs);
  const debounceMs = opts.debounceMs ?? 50;
  const registryIntervalMs = opts.registryIntervalMs ?? 1_000;
  const db: Db = createDb(opts.databaseUrl, { max: 8 });

  const ca = await MeshCa.loadOrCreate(db, {
    secret: opts.secret,
    trustDomain: opts.trustDomain ?? DEFAULT_TRUST_DOMAIN,
  });
  // The CA fixes the trust domain when it is created; every identity it certifies and every config names it.
  const trustDomain = ca.trustDomain;
  if (opts.trustDomain !== undefined && opts.trustDomain !== trustDomain) {
    await db.$disconnect();
    throw new Error(
      `the mesh CA certifies trust domain "${trustDomain}", not "${opts.trustDomain}": changing the trust domain needs a new CA (and a new certificate for every proxy), which Trellis does not do yet; unset TRELLIS_TRUST_DOMAIN or set it to "${trustDomain}"`,
    );
  }
  const hosts = [...new Set(["localhost", "127.0.0.1", "::1", hostname(), ...(opts.advertiseHosts ?? [])])];
  const serving = await ca.issueServing(hosts, 365 * 86_400_000);

  // ---- state shared by all sessions of this replica -------------------------------------------------
  let shuttingDown = false;
  /** Proxies that said hello: they get pushes. */
  const sessions = new Set<ProxySession>();
  /** Every open stream, also those still before hello: all are closed on shutdown. */
  const streams = new Set<ProxySession>();
  const snapshots = new Map<string, Snapshot>();
  /** The bases deltas are computed against: this recompute's snapshots, those proxies hold, a few recent. */
  const store = createSnapshotStore();
  /** Serializes the snapshots of one state: replaced with the state, so what it shares dies with it. */
  let builder = new SnapshotBuilder(opts.compile);
  let resources: ResourceRecord[] = [];
  let registry: RegistrySnapshot = { services: [] };
  const stats: Omit<ControlPlaneStats, "telemetryRefused"> = {
    lastRecomputeMs: 0,
    lastRecomputePhases: { loadMs: 0, buildMs: 0, recordMs: 0, pushMs: 0 },
    sessions: 0,
    groups: 0,
    pushes: 0,
    recomputes: 0,
    wholeConfigs: 0,
    deltas: 0,
    bytesPushed: 0,
  };
  function onWritten(e: Encoded): void {
    if (e.delta) stats.deltas++;
    else stats.wholeConfigs++;
    stats.bytesPushed += e.bytes;
  }
  const telemetry = new TelemetryAggregator();
  // `namespace/name` of the registry's services, built on first use after each registry load (telemetry checks).
  let knownOf: { registry: RegistrySnapshot; keys: Set<string> } | null = null;
  const knownService = (namespace: string, name: string): boolean => {
    if (knownOf?.registry !== registry)
      knownOf = { registry, keys: new Set(registry.services.map((s) => `${s.namespace}/${s.name}`)) };
    return knownOf.keys.has(`${namespace}/${name}`);
  };
  const rollout = new Rollout(db, log);
  const pushes = new PushQueue();

  async function loadState(dirty: Dirty = { resources: true, registry: true }): Promise<void> {
    // What did not change keeps its identity, which is what the compiler's memos key on.
    const [rows, reg] = await Promise.all([
      dirty.resources
        ? db.resource.findMany({ orderBy: [{ kind: "asc" }, { namespace: "asc" }, { name: "asc" }] })
        : null,
      dirty.registry ? loadRegistry(db) : registry,
    ]);
    if (rows !== null)
      resources = rows.map((r) => ({
        kind: r.kind,
        namespace: r.namespace,
        name: r.name,
        spec: r.spec,
        revision: r.revision,
      }));
    registry = reg;
  }

  const compileErrors = new Map<string, string>();
  function snapshotFor(proxy: ProxyGroup): Snapshot | null {
    const key = groupKey(proxy);
    const cached = snapshots.get(key);
    if (cached) return cached;
    if (compileErrors.has(key)) return null;
    const r = builder.build({ proxy, resources, registry, trustDomain });
    if (!r.ok) {
      // The proxy keeps its last good config; the rollout records why it got nothing new.
      compileErrors.set(key, r.error);
      log(`control plane: ${r.error}`);
      return null;
    }
    snapshots.set(key, r.snapshot);
    store.add(r.snapshot);
    stats.groups = snapshots.size;
    return r.snapshot;
  }

  /** Reloads state, rebuilds every group's snapshot and pushes where a proxy's version differs. */
  async function recompute(generations: number[], dirty: Dirty): Promise<void> {
    stats.recomputes++;
    const started = performance.now();
    await loadState(dirty);
    const loaded = performance.now();
    snapshots.clear();
    store.newGeneration();
    builder = new SnapshotBuilder(opts.compile);
    compileErrors.clear();
    const plan: { s: ProxySession; snap: Snapshot | null }[] = [];
    const entries: RolloutEntry[] = [];
    for (const s of sessions) {
      if (!s.ready) continue;
      const snap = snapshotFor(s.group!);
      plan.push({ s, snap });
      if (snap) {
        // This version may have been answered already (sent by an earlier recompute): use that answer.
        const answer =
          s.ackedVersion === snap.version
            ? "acked"
            : s.nacked?.version === snap.version
              ? "nacked"
              : "pending";
        entries.push({
          workloadId: s.workloadId!,
          version: snap.version,
          state: answer,
          ...(answer === "nacked" ? { reason: s.nacked!.reason } : {}),
        });
      } else {
        entries.push({
          workloadId: s.workloadId!,
          version: s.sentVersion ?? "",
          state: "nacked",
          reason: compileErrors.get(groupKey(s.group!)) ?? "not compiled",
        });
      }
    }
    const built = performance.now();
    // Rollout rows are written while the pushes go out; answers are written only after them (the Rollout
    // orders its writes), so an answer always finds the row it settles.
    const recording = Promise.all(generations.map((g) => rollout.recordGeneration(g, entries)));
    const recorded = performance.now();
    for (const { s, snap } of plan) if (snap && s.push(snap)) stats.pushes++;
    const now = performance.now();
    stats.lastRecomputeMs = now - started;
    await recording;
    stats.lastRecomputePhases = {
      loadMs: loaded - started,
      buildMs: built - loaded,
      recordMs: performance.now() - now,
      pushMs: now - recorded,
    };
    if (generations.length > 0) {
      // An answer to an earlier push of the same version may have landed while the rows were written.
      const late: Promise<void>[] = [];
      for (const { s, snap } of plan) {
        if (!snap) continue;
        if (s.ackedVersion === snap.version) late.push(rollout.ack(s.workloadId!, snap.version));
        else if (s.nacked?.version === snap.version)
          late.push(rollout.nack(s.workloadId!, snap.version, s.nacked.reason));
      }
      await Promise.all(late);
    }
  }

  // Debounced, serialized recomputes: never two at once, and changes during one cause exactly one more.
  const scheduler = createRecomputeScheduler({ debounceMs, registryIntervalMs, run: recompute, log });
  const schedule = scheduler.schedule;

  await loadState();

  // ---- database notifications ---------------------------------------------------------------------
  function onNotification(n: pg.Notification): void {
    if (n.channel === CONFIG_CHANGED_CHANNEL) {
      // A bare notify (or one this replica cannot read) still means "something changed".
      const generation = decodeNotifyPayload(ZConfigChangedPayload, n.payload)?.generation;
      schedule(generation, { resources: true });
    } else if (n.channel === REGISTRY_CHANGED_CHANNEL) {
      schedule(undefined, { registry: true });
    } else if (n.channel === JOIN_TOKEN_REVOKED_CHANNEL) {
      const revoked = decodeNotifyPayload(ZJoinTokenRevokedPayload, n.payload);
      if (revoked) void revocations.evict(revoked.joinTokenId);
      // The revocation list changed: every proxy gets it (and the evicted workloads are gone).
      schedule(undefined, { registry: true });
    }
  }

  // Registry changed (the evicted workloads are gone) and so did the revocation list: every proxy gets it.
  const revocations = createRevocations({
    db,
    streams: () => streams,
    onEvicted: () => schedule(undefined, { registry: true }),
    log,
  });
  const listener = await startNotifyListener({
    databaseUrl: opts.databaseUrl,
    channels: [CONFIG_CHANGED_CHANNEL, REGISTRY_CHANGED_CHANNEL, JOIN_TOKEN_REVOKED_CHANNEL],
    onNotification,
    onRestored() {
      schedule();
      void revocations
        .evictMissed()
        .catch((e: unknown) =>
          log(`control plane: checking for revoked join tokens failed: ${(e as Error).message}`),
        );
    },
    log,
  });

  const notifyRegistry = (): Promise<void> =>
    shuttingDown
      ? Promise.resolve()
      : // Through the pool: the LISTEN connection must not run queries of its own concurrently.
        db.$executeRaw`SELECT pg_notify(${REGISTRY_CHANGED_CHANNEL}, ${replicaId})`.then(
          () => undefined,
          (e: unknown) => log(`control plane: notify failed: ${(e as Error).message}`),
        );

  // ---- HTTPS + WebSocket --------------------------------------------------------------------------
  const server = createMeshServer({
    serving,
    caPem: ca.certPem,
    authenticate: joinTokenAuth(db, ca.fingerprint),
    maxStreamsPerJoinToken: opts.maxStreamsPerJoinToken ?? DEFAULT_MAX_STREAMS_PER_JOIN_TOKEN,
    readiness: () => ({ ready: listener.healthy, replica: replicaId, proxies: sessions.size }),
    isShuttingDown: () => shuttingDown,
    isRevoked: revocations.has,
    onStream: (ws, scope, closed) => {
      const session = new ProxySession(ws, {
        db,
        ca,
        scope,
        trustDomain,
        replicaId,
        certTtlMs: opts.certTtlMs ?? 86_400_000,
        telemetryIntervalMs,
        log,
        snapshotFor,
        encode: encodeFor,
        lookup: store.lookup,
        hold: store.hold,
        release: store.release,
        onWritten,
        telemetry,
        rollout,
        pushes,
        knownService,
        onReady: (s) => {
          sessions.add(s);
          stats.sessions = sessions.size;
          void notifyRegistry();
        },
        onClose: (s, wasReady) => {
          sessions.delete(s);
          streams.delete(s);
          closed();
          stats.sessions = sessions.size;
          if (wasReady) void notifyRegistry();
        },
        onPushed: () => stats.pushes++,
        isRevoked: revocations.has,
      });
      streams.add(session);
      session.start();
    },
    log,
  });

  // ---- timers -------------------------------------------------------------------------------------
  const timers = startTimers({
    heartbeatMs,
    heartbeat: () => {
      for (const s of sessions) s.heartbeat();
    },
    housekeepingMs: Math.min(10_000, telemetryIntervalMs),
    housekeeping: async () => {
      try {
        await touchWorkloads(
          db,
          [...sessions].filter((s) => s.ready).map((s) => s.workloadId!),
        );
        const gone = await sweepStaleWorkloads(db, Math.max(30_000, heartbeatMs * 6));
        await pruneRevokedCertificates(db);
        await revocations.evictMissed();
        if (gone > 0) {
          log(`control plane: ${gone} proxies of a silent replica marked gone`);
          await notifyRegistry();
        }
      } catch (e) {
        log(`control plane: housekeeping failed: ${(e as Error).message}`);
      }
    },
    telemetryFlushMs,
    hasTelemetry: () => telemetry.size > 0,
    flushTelemetry: () =>
      telemetry.flush(db).then(
        () => {},
        (e: unknown) =>
          log(`control plane: writing telemetry failed (kept for the next try): ${(e as Error).message}`),
      ),
    pruneMs: 3_600_000,
    prune: () => pruneRollups(db, opts.telemetryRetentionMs ?? 7 * 86_400_000),
  });

  const port = await server.listen(opts.port ?? 15010, opts.host ?? "127.0.0.1");
  const host = opts.host && opts.host !== "0.0.0.0" && opts.host !== "::" ? opts.host : "127.0.0.1";
  log(`control plane: replica ${replicaId}, mesh CA ${ca.fingerprint}`);

  return {
    url: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    replicaId,
    caPem: ca.certPem,
    caFingerprint: ca.fingerprint,
    stats: () => ({
      ...stats,
      lastRecomputePhases: { ...stats.lastRecomputePhases },
      telemetryRefused: telemetry.refused,
    }),
    async refresh(generation?: number) {
      schedule(generation);
      await scheduler.settled();
    },
    async close() {
      shuttingDown = true;
      const timersStopped = timers.stop();
      await scheduler.stop();
      await timersStopped;
      // Proxies keep serving their last config and reconnect to another replica (or to us after a restart).
      // Their registrations stay: marking them gone would strip every endpoint from the configs of the
      // proxies that reconnect first (a config gap). Proxies that never come back are swept as stale.
      await Promise.all(
        [...streams].map((s) => s.close(1001, "control plane shutting down", { keepRegistration: true })),
      );
      await timers.flushTelemetry();
      await server.close();
      await listener.close();
      await db.$disconnect();
    },
  };
}
