// One recompute: read again what changed, build every ready proxy's group snapshot, record the rollout of the
// generations it carries, and push where a proxy's version differs. When it runs is recompute-scheduler.ts's
// concern; what it compiles from is mesh-state.ts's.
import type { MeshState } from "./mesh-state.js";
import type { RecomputeFn } from "./recompute-scheduler.js";
import type { Rollout, RolloutEntry } from "./rollout.js";
import type { ProxySession } from "./session.js";
import type { Snapshot } from "./snapshots.js";

/** The counters a recompute keeps (part of the replica's stats). */
export interface RecomputeStats {
  recomputes: number;
  pushes: number;
  /** Duration of the last recompute (load, compile, push), and of its phases. */
  lastRecomputeMs: number;
  lastRecomputePhases: { loadMs: number; buildMs: number; recordMs: number; pushMs: number };
}

export interface RecomputeDeps {
  state: MeshState;
  /** Proxies that said hello. */
  sessions: Iterable<ProxySession>;
  rollout: Rollout;
  stats: RecomputeStats;
}

export function recomputeAndPush({ state, sessions, rollout, stats }: RecomputeDeps): RecomputeFn {
  return async (generations, dirty) => {
    stats.recomputes++;
    const started = performance.now();
    await state.reload(dirty);
    const loaded = performance.now();
    const plan: { s: ProxySession; workloadId: string; snap: Snapshot | null }[] = [];
    const entries: RolloutEntry[] = [];
    for (const s of sessions) {
      const j = s.ready;
      if (j === null) continue;
      const snap = state.snapshotFor(j.group);
      plan.push({ s, workloadId: j.workloadId, snap });
      if (snap) {
        // This version may have been answered already (sent by an earlier recompute): use that answer.
        const nacked = s.nacked?.version === snap.version ? s.nacked : null;
        const answer = s.ackedVersion === snap.version ? "acked" : nacked ? "nacked" : "pending";
        entries.push({
          workloadId: j.workloadId,
          version: snap.version,
          state: answer,
          ...(answer === "nacked" && nacked ? { reason: nacked.reason } : {}),
        });
      } else {
        entries.push({
          workloadId: j.workloadId,
          version: s.sentVersion ?? "",
          state: "nacked",
          reason: state.compileError(j.group) ?? "not compiled",
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
      for (const { s, workloadId, snap } of plan) {
        if (!snap) continue;
        if (s.ackedVersion === snap.version) late.push(rollout.ack(workloadId, snap.version));
        else if (s.nacked?.version === snap.version)
          late.push(rollout.nack(workloadId, snap.version, s.nacked.reason));
      }
      await Promise.all(late);
    }
  };
}
