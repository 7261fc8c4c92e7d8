// The counters a replica keeps for `stats()`: written by the recompute, the sessions and the state as they
// work (plain fields, no events: they are read rarely), copied out when read.
import type { ControlPlaneStats } from "./options.js";
import type { Encoded } from "./snapshots.js";

export type ReplicaCounters = Omit<ControlPlaneStats, "telemetryRefused" | "traces" | "inSync">;

export interface ReplicaStats {
  readonly counters: ReplicaCounters;
  /** A message was written to a proxy: a whole config or a delta, and its bytes. */
  onWritten(e: Encoded): void;
  /** A copy, with what telemetry refused (counted by the aggregator) and how many proxies are in step. */
  read(telemetryRefused: number, inSync: number): Omit<ControlPlaneStats, "traces">;
}

export function createReplicaStats(): ReplicaStats {
  const counters: ReplicaCounters = {
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
  return {
    counters,
    onWritten(e) {
      if (e.delta) counters.deltas++;
      else counters.wholeConfigs++;
      counters.bytesPushed += e.bytes;
    },
    read: (telemetryRefused, inSync) => ({
      ...counters,
      lastRecomputePhases: { ...counters.lastRecomputePhases },
      telemetryRefused,
      inSync,
    }),
  };
}
