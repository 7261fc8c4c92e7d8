// The snapshots a replica can compute deltas against, by version. A proxy's next config is sent as a delta
// against the version it holds, so that version must be found: the current recompute's snapshots, those some
// proxy still holds, and a few recently let go (a proxy reconnecting after a blip announces the version it
// serves). Versions are compared for equality only.
import type { Snapshot } from "./snapshots.js";

/** How many released snapshots are kept for reconnecting proxies. Bounded: old lists are large. */
export const RECENT_SNAPSHOTS = 32;

export interface SnapshotStore {
  /** A proxy now holds this snapshot (the last one written to it): counted. */
  hold(snap: Snapshot): void;
  /** A proxy no longer holds it; the last release moves it to the recent ones. */
  release(snap: Snapshot): void;
  /** The snapshot of a version, or null: a proxy holding a version never seen here is sent its config whole. */
  lookup(version: string): Snapshot | null;
  /** This recompute's snapshot: found by version until the next recompute replaces them all. */
  add(snap: Snapshot): void;
  /** A recompute starts: its predecessor's snapshots are found only if held or recent. */
  newGeneration(): void;
}

export function createSnapshotStore(recentMax = RECENT_SNAPSHOTS): SnapshotStore {
  const held = new Map<string, { snap: Snapshot; refs: number }>();
  // Newest last: a Map keeps insertion order, so the first key is the oldest.
  const recent = new Map<string, Snapshot>();
  let current = new Map<string, Snapshot>();
  return {
    hold(snap) {
      const h = held.get(snap.version);
      if (h) h.refs++;
      else held.set(snap.version, { snap, refs: 1 });
    },
    release(snap) {
      const h = held.get(snap.version);
      if (!h || --h.refs > 0) return;
      held.delete(snap.version);
      recent.delete(snap.version);
      recent.set(snap.version, h.snap);
      if (recent.size > recentMax) recent.delete(recent.keys().next().value!);
    },
    lookup: (version) => held.get(version)?.snap ?? current.get(version) ?? recent.get(version) ?? null,
    add(snap) {
      current.set(snap.version, snap);
    },
    newGeneration() {
      current = new Map();
    },
  };
}
