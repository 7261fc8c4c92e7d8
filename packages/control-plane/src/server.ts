// The control plane: a TLS server that proxies join with a token, get a certificate from the mesh CA, and
// hold a stream on which they receive versioned config snapshots and answer ACK or NACK. Several replicas
// can share one database: each serves its own proxies and hears every change through LISTEN/NOTIFY.
//
// When to edit this file: wiring only (what starts, in which order, what is handed to what, and the order of
// shutdown). Each subsystem has its own file: the snapshot reference store (snapshot-store.ts), the compiled
// state (mesh-state.ts), a recompute (recompute.ts) and when it runs (recompute-scheduler.ts), LISTEN/NOTIFY
// (notify-listener.ts, notifications.ts), revocations heard (revocations.ts), the HTTPS routes and upgrade
// (mesh-server.ts, join-auth.ts), the connected proxies (proxies.ts), the timers (timers.ts, housekeeping.ts).
// Protocol handling per proxy lives in session.ts.
import { createDb, type Db } from "@trellis/db";
import { replicaUrl, withDefaults, type ControlPlane, type ControlPlaneOptions } from "./options.js";
import { housekeeping } from "./housekeeping.js";
import { joinTokenAuth } from "./join-auth.js";
import { createMeshServer } from "./mesh-server.js";
import { createMeshState } from "./mesh-state.js";
import { MESH_CHANNELS, onMeshNotification, registryAnnouncer } from "./notifications.js";
import { startNotifyListener } from "./notify-listener.js";
import { createReplicaProxies } from "./proxies.js";
import { PushQueue } from "./push-queue.js";
import { recomputeAndPush } from "./recompute.js";
import { createRecomputeScheduler } from "./recompute-scheduler.js";
import { loadReplicaIdentity } from "./replica-identity.js";
import { createReplicaStats } from "./replica-stats.js";
import { createRevocations } from "./revocations.js";
import { Rollout } from "./rollout.js";
import { createSnapshotStore } from "./snapshot-store.js";
import { encodeFor } from "./snapshots.js";
import { pruneRollups, TelemetryAggregator } from "./telemetry.js";
import { startTimers } from "./timers.js";
import { createTraceForwarder } from "./trace-forwarder.js";
import { createTraceIntake } from "./trace-intake.js";
import { pruneSpans } from "./trace-store.js";
import { VipAllocator, vipBlock } from "./vips.js";

/**
 * A stale workload is swept at the latest this many `workloadStaleAfterMs` after its last heartbeat, even while
 * the fleet is still rejoining (10 minutes by default): a restart under 5,000 proxies took 4 minutes to rejoin
 * here, and a proxy that flaps somewhere in a large mesh must not keep a dead one's endpoint forever.
 */
const MAX_STALE_FACTOR = 20;

// The public types live in options.ts, read by callers without the wiring.
export * from "./options.js";

export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const opts = withDefaults(options);
  const { log, replicaId, heartbeatMs, telemetryIntervalMs } = opts;
  // Checked before anything connects: a block that holds no VIP is a configuration error.
  const block = vipBlock(opts.serviceVipCidr);
  const db: Db = createDb(opts.databaseUrl, { max: 8 });
  const vips = new VipAllocator({ db, block, log });

  const { ca, serving } = await loadReplicaIdentity(db, opts).catch(async (e: unknown) => {
    await db.$disconnect();
    throw e;
  });
  const trustDomain = ca.trustDomain;
  // Services without a VIP (made before VIPs existed, by an older replica, or while the block was full) get
  // one before the first compile, so this replica's first configs carry them.
  const backfilled = await (async () => {
    await vips.reportForeign();
    return await vips.backfill();
  })().catch(async (e: unknown) => {
    await db.$disconnect();
    throw e;
  });

  // ---- state shared by all sessions of this replica -------------------------------------------------
  let shuttingDown = false;
  /** The bases deltas are computed against: this recompute's snapshots, those proxies hold, a few recent. */
  const store = createSnapshotStore();
  const replicaStats = createReplicaStats();
  const stats = replicaStats.counters;
  const telemetry = new TelemetryAggregator();
  const rollout = new Rollout(db, log);
  const pushes = new PushQueue();

  const state = createMeshState({
    db,
    compile: opts.compile,
    trustDomain,
    store,
    onBuilt: (groups) => (stats.groups = groups),
    log,
  });
  const proxies = createReplicaProxies(
    {
      db,
      ca,
      trustDomain,
      replicaId,
      certTtlMs: opts.certTtlMs,
      telemetryIntervalMs,
      log,
      snapshotFor: state.snapshotFor,
      encode: encodeFor,
      lookup: store.lookup,
      hold: store.hold,
      release: store.release,
      onWritten: replicaStats.onWritten,
      telemetry,
      rollout,
      pushes,
      knownService: state.knownService,
      onPushed: () => stats.pushes++,
      // Declared below: a session asks only once its stream is open, after startup.
      isRevoked: (id) => revocations.has(id),
      vips,
    },
    { onCount: (n) => (stats.sessions = n), onJoinedOrLeft: () => void notifyRegistry() },
  );
  const sessions = proxies.ready;
  const recompute = recomputeAndPush({ state, sessions, rollout, stats });

  // Debounced, serialized recomputes: never two at once, and changes during one cause exactly one more.
  const scheduler = createRecomputeScheduler({
    debounceMs: opts.debounceMs,
    registryIntervalMs: opts.registryIntervalMs,
    run: recompute,
    log,
  });
  const schedule = scheduler.schedule;

  await state.reload();

  // ---- database notifications ---------------------------------------------------------------------
  // Registry changed (the evicted workloads are gone) and so did the revocation list: every proxy gets it.
  const revocations = createRevocations({
    db,
    streams: () => proxies.streams,
    onEvicted: () => schedule(undefined, { registry: true }),
    log,
  });
  const listener = await startNotifyListener({
    databaseUrl: opts.databaseUrl,
    channels: MESH_CHANNELS,
    onNotification: onMeshNotification({ schedule, evict: revocations.evict }),
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

  const announce = registryAnnouncer(db, replicaId, log);
  const notifyRegistry = (): Promise<void> => (shuttingDown ? Promise.resolve() : announce());
  // The VIPs given at start reach the other replicas' proxies too.
  if (backfilled > 0) void notifyRegistry();

  // ---- HTTPS + WebSocket --------------------------------------------------------------------------
  const forwarder = opts.traceForward ? createTraceForwarder({ ...opts.traceForward, log }) : null;
  const traces = createTraceIntake({
    db,
    trustDomain: () => trustDomain,
    retentionMs: opts.traceRetentionMs,
    spansPerSecond: opts.traceSpansPerSecond,
    ...(forwarder ? { forward: (rows) => forwarder.enqueue(rows) } : {}),
    log,
  });
  const server = createMeshServer({
    serving,
    caPem: ca.certPem,
    authenticate: joinTokenAuth(db, ca.fingerprint),
    maxStreamsPerJoinToken: opts.maxStreamsPerJoinToken,
    readiness: () => ({ ready: listener.healthy, replica: replicaId, proxies: sessions.size }),
    isShuttingDown: () => shuttingDown,
    isRevoked: revocations.has,
    onStream: proxies.accept,
    onTraces: traces.handle,
    log,
  });

  // ---- timers -------------------------------------------------------------------------------------
  const timers = startTimers({
    heartbeatMs,
    heartbeat: () => {
      for (const s of sessions) s.heartbeat();
    },
    housekeepingMs: Math.min(10_000, telemetryIntervalMs),
    housekeeping: housekeeping({
      db,
      readyWorkloads: () => [...sessions].flatMap((s) => s.ready?.workloadId ?? []),
      staleAfterMs: opts.workloadStaleAfterMs,
      maxStaleMs: opts.workloadStaleAfterMs * MAX_STALE_FACTOR,
      startedAt: Date.now(),
      joining: () => proxies.streams.size - sessions.size,
      evictMissed: revocations.evictMissed,
      onGone: notifyRegistry,
      log,
    }),
    telemetryFlushMs: opts.telemetryFlushMs,
    hasTelemetry: () => telemetry.size > 0,
    flushTelemetry: () =>
      telemetry.flush(db).then(
        () => {},
        (e: unknown) =>
          log(`control plane: writing telemetry failed (kept for the next try): ${(e as Error).message}`),
      ),
    pruneMs: 3_600_000,
    prune: () =>
      Promise.allSettled([
        pruneRollups(db, opts.telemetryRetentionMs),
        pruneSpans(db, { maxAgeMs: opts.traceRetentionMs, maxSpans: opts.maxStoredSpans }),
      ]),
  });

  /** Proxies holding what this replica would send them now (a stat: read rarely, O(proxies)). */
  const inSync = (): number => {
    let n = 0;
    for (const s of sessions) {
      const j = s.ready;
      if (j !== null && s.ackedVersion !== null && s.ackedVersion === state.snapshotFor(j.group)?.version)
        n++;
    }
    return n;
  };

  const port = await server.listen(opts.port, opts.host);
  log(`control plane: replica ${replicaId}, mesh CA ${ca.fingerprint}`);

  return {
    url: replicaUrl(opts.host, port),
    port,
    replicaId,
    caPem: ca.certPem,
    caFingerprint: ca.fingerprint,
    stats: () => {
      const forward = forwarder?.stats() ?? { forwarded: 0, dropped: 0 };
      return {
        ...replicaStats.read(telemetry.refused, inSync()),
        traces: { ...traces.stats(), forwarded: forward.forwarded, forwardDropped: forward.dropped },
      };
    },
    async refresh(generation?: number) {
      schedule(generation);
      await scheduler.settled();
    },
    async close() {
      shuttingDown = true;
      const timersStopped = timers.stop();
      await scheduler.stop();
      await timersStopped;
      await proxies.closeAll();
      await timers.flushTelemetry();
      await server.close();
      await forwarder?.close();
      await listener.close();
      await db.$disconnect();
    },
  };
}
