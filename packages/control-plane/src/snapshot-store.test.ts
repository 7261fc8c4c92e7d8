// The reference store alone: which versions a delta can still be computed against.
import { describe, expect, it } from "vitest";
import { createSnapshotStore } from "./snapshot-store.js";
import type { Snapshot } from "./snapshots.js";

// Only the version matters to the store; the rest of a snapshot is never read.
const snap = (version: string) => ({ version }) as Snapshot;

describe("snapshot store", () => {
  it("finds this recompute's snapshots until the next one starts", () => {
    const store = createSnapshotStore();
    const a = snap("a");
    store.add(a);
    expect(store.lookup("a")).toBe(a);
    store.newGeneration();
    expect(store.lookup("a")).toBeNull();
  });

  it("keeps a held snapshot across recomputes until its last holder lets go, then as a recent one", () => {
    const store = createSnapshotStore();
    const a = snap("a");
    store.hold(a);
    store.hold(a);
    store.newGeneration();
    store.release(a);
    expect(store.lookup("a")).toBe(a);
    store.release(a);
    // Nobody holds it: a proxy reconnecting with it is still sent a delta.
    expect(store.lookup("a")).toBe(a);
  });

  it("forgets the oldest released snapshots beyond its bound", () => {
    const store = createSnapshotStore(2);
    const [a, b, c] = [snap("a"), snap("b"), snap("c")];
    for (const s of [a, b, c]) {
      store.hold(s);
      store.release(s);
    }
    expect(store.lookup("a")).toBeNull();
    expect(store.lookup("b")).toBe(b);
    expect(store.lookup("c")).toBe(c);
  });

  it("refreshes a snapshot released again, and ignores releases of what it never held", () => {
    const store = createSnapshotStore(2);
    const [a, b, c] = [snap("a"), snap("b"), snap("c")];
    for (const s of [a, b, a, c]) {
      store.hold(s);
      store.release(s);
    }
    store.release(snap("never"));
    // `a` was released after `b`, so `b` is the oldest and goes first.
    expect(store.lookup("b")).toBeNull();
    expect(store.lookup("a")).toBe(a);
    expect(store.lookup("never")).toBeNull();
  });
});
