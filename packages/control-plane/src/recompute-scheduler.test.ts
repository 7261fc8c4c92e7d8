// The scheduler alone, with a recompute that only records what it was asked: batching, serializing, retrying.
import { describe, expect, it } from "vitest";
import { createRecomputeScheduler, type Dirty } from "./recompute-scheduler.js";

function recorder(fail = 0) {
  const runs: { generations: number[]; dirty: Dirty }[] = [];
  let active = 0;
  let overlapped = false;
  return {
    runs,
    overlapped: () => overlapped,
    async run(generations: number[], dirty: Dirty) {
      if (active++ > 0) overlapped = true;
      await new Promise((r) => setTimeout(r, 20));
      active--;
      runs.push({ generations, dirty });
      if (runs.length <= fail) throw new Error("database down");
    },
  };
}

describe("recompute scheduler", () => {
  it("runs changes arriving within the debounce once, with every generation", async () => {
    const r = recorder();
    const s = createRecomputeScheduler({
      debounceMs: 20,
      registryIntervalMs: 1_000,
      run: r.run,
      log: () => {},
    });
    s.schedule(1, { resources: true });
    s.schedule(2, { resources: true });
    s.schedule(undefined, { registry: true });
    await s.settled();
    expect(r.runs).toEqual([{ generations: [1, 2], dirty: { resources: true, registry: true } }]);
  });

  it("never runs two at once: a change during a recompute causes exactly one more", async () => {
    const r = recorder();
    const s = createRecomputeScheduler({ debounceMs: 1, registryIntervalMs: 0, run: r.run, log: () => {} });
    s.schedule(1);
    await new Promise((res) => setTimeout(res, 10));
    s.schedule(2);
    s.schedule(3);
    await s.settled();
    expect(r.overlapped()).toBe(false);
    expect(r.runs.map((x) => x.generations)).toEqual([[1], [2, 3]]);
  });

  it("holds registry-only changes back to the registry interval, but not applied changes", async () => {
    const r = recorder();
    const s = createRecomputeScheduler({ debounceMs: 1, registryIntervalMs: 300, run: r.run, log: () => {} });
    s.schedule(undefined, { registry: true });
    await s.settled();
    const started = performance.now();
    s.schedule(undefined, { registry: true });
    await s.settled();
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    const urgent = performance.now();
    s.schedule(7, { resources: true });
    await s.settled();
    expect(performance.now() - urgent).toBeLessThan(250);
    expect(r.runs).toHaveLength(3);
  });

  it("tries a failed recompute again with what it was to read and record", async () => {
    const r = recorder(1);
    const lines: string[] = [];
    const s = createRecomputeScheduler({
      debounceMs: 1,
      registryIntervalMs: 0,
      run: r.run,
      log: (l) => lines.push(l),
      retryMs: 30,
    });
    s.schedule(4, { resources: true });
    await s.settled();
    await new Promise((res) => setTimeout(res, 40));
    await s.settled();
    expect(r.runs.map((x) => x.generations)).toEqual([[4], [4]]);
    expect(r.runs[1]!.dirty).toEqual({ resources: true, registry: false });
    expect(lines[0]).toMatch(/recompute failed .*database down/);
    await s.stop();
  });
});
