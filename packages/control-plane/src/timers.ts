// The replica's periodic work: heartbeats to its proxies, housekeeping against the database, writing
// gathered telemetry, pruning old rollups. Each runs on its own interval, unref'd (a replica's lifetime is
// its server's), and a tick that finds the previous one of its kind still running is skipped, not stacked:
// a slow database must not pile up queries.

export interface TimerTasks {
  heartbeatMs: number;
  heartbeat: () => void;
  housekeepingMs: number;
  /** Logs its own failures. */
  housekeeping: () => Promise<void>;
  telemetryFlushMs: number;
  /** Whether there is telemetry to write: an empty tick costs nothing. */
  hasTelemetry: () => boolean;
  /** Writes telemetry; logs its own failures (what was not written is kept for the next try). */
  flushTelemetry: () => Promise<void>;
  pruneMs: number;
  /** Best effort: the next run prunes what this one did not. */
  prune: () => Promise<unknown>;
}

export interface ReplicaTimers {
  /** No more ticks; resolves once a housekeeping tick under way has finished. */
  stop(): Promise<void>;
  /** Writes telemetry now, after a write under way (the last flush on shutdown). */
  flushTelemetry(): Promise<void>;
}

export function startTimers(t: TimerTasks): ReplicaTimers {
  let housekeepingRun: Promise<void> | null = null;
  let flushRun: Promise<void> | null = null;
  const flush = (): Promise<void> => (flushRun ??= t.flushTelemetry().finally(() => (flushRun = null)));
  const intervals = [
    setInterval(t.heartbeat, t.heartbeatMs),
    setInterval(() => {
      housekeepingRun ??= t.housekeeping().finally(() => (housekeepingRun = null));
    }, t.housekeepingMs),
    setInterval(() => {
      if (!flushRun && t.hasTelemetry()) void flush();
    }, t.telemetryFlushMs),
    setInterval(() => void t.prune().catch(() => {}), t.pruneMs),
  ];
  for (const i of intervals) i.unref();
  return {
    async stop() {
      for (const i of intervals) clearInterval(i);
      await housekeepingRun;
    },
    async flushTelemetry() {
      await flushRun;
      await flush();
    },
  };
}
