// Every plan must count each minute of its window exactly once and nothing outside it; and the plans must stay
// cheap: a window of an hour or more reads at most a few minutes at each end.
import { describe, expect, it } from "vitest";
import { planWindow, type LevelRange } from "./graph-window.js";

/** Coefficient per minute in [lo - pad, hi + pad) that a plan gives. */
function coverage(plan: LevelRange[], lo: number, hi: number, pad: number) {
  const out = new Map<number, number>();
  for (let m = lo - pad; m < hi + pad; m++) out.set(m, 0);
  for (const r of plan) for (let m = r.from; m < r.to; m++) if (out.has(m)) out.set(m, out.get(m)! + r.coef);
  return out;
}

/** Buckets a plan reads that can hold rows (start before `now`), per level. */
function liveBuckets(plan: LevelRange[], now: number) {
  const n = { 1: 0, 10: 0, 60: 0 };
  for (const r of plan) for (let t = r.from; t < r.to; t += r.level) if (t < now) n[r.level] += 1;
  return n;
}

// A fixed day, 2025-03-04T00:00Z in epoch minutes, and a seeded walk over window starts and lengths.
const DAY = Date.UTC(2025, 2, 4) / 60_000;

describe("planWindow", () => {
  it("covers every window exactly once, ending now or in the past, at every level set", () => {
    let checked = 0;
    for (const length of [1, 5, 9, 10, 11, 15, 59, 60, 61, 119, 180, 600, 1439, 1440])
      for (let offset = 0; offset < 60; offset += 7)
        for (const ago of [0, 1, 37]) {
          const now = DAY + 600 + offset; // the first minute that holds nothing yet
          const hi = now - ago;
          const lo = hi - length;
          for (const levels of [undefined, [10, 1] as const, [1] as const]) {
            const plan = planWindow(lo, hi, now, levels);
            // Minutes whose coefficient is wrong, as offsets from the window's start: none.
            const wrong = [...coverage(plan, lo, hi, 90)]
              .filter(([m, c]) => c !== (m >= lo && m < hi ? 1 : 0))
              .map(([m]) => m - lo);
            expect(wrong, JSON.stringify({ lo, hi, now, levels })).toEqual([]);
            checked++;
          }
        }
    expect(checked).toBe(14 * 9 * 3 * 3);
  });

  it("reads at most five live minutes at each end, and the rest in coarse buckets", () => {
    for (let offset = 0; offset < 60; offset++) {
      const now = DAY + 600 + offset;
      const hour = liveBuckets(planWindow(now - 60, now, now), now);
      expect(hour[1]).toBeLessThanOrEqual(5);
      expect(hour[1] + hour[10] + hour[60]).toBeLessThanOrEqual(10);
      // 24 hours: about 24 hour rows, a few 10-minute ones, and no more than ten minutes in all.
      const day = liveBuckets(planWindow(now - 1440, now, now), now);
      expect(day[1]).toBeLessThanOrEqual(5);
      expect(day[10]).toBeLessThanOrEqual(6);
      expect(day[60]).toBeLessThanOrEqual(25);
      // Replayed (ending in the past): both ends ragged, still five minutes at most at each.
      const past = liveBuckets(planWindow(now - 1440 - 37, now - 37, now), now);
      expect(past[1]).toBeLessThanOrEqual(10);
      expect(past[10]).toBeLessThanOrEqual(6);
    }
  });

  it("reads only minutes when asked to, and nothing for an empty window", () => {
    expect(planWindow(DAY, DAY + 60, DAY + 60, [1])).toEqual([
      { level: 1, from: DAY, to: DAY + 60, coef: 1 },
    ]);
    expect(planWindow(DAY, DAY, DAY + 60)).toEqual([]);
    expect(() => planWindow(DAY, DAY + 60, DAY + 60, [60, 10])).toThrow(/minute/);
  });

  it("subtracts where that reads less: an hour ending now is the hour plus what came before it", () => {
    const now = DAY + 10 * 60 + 35; // 10:35 is the first empty minute: the window is 09:35–10:34
    const plan = planWindow(now - 60, now, now);
    expect(plan.filter((r) => r.coef < 0).length).toBeGreaterThan(0);
    expect(liveBuckets(plan, now)).toEqual({ 1: 5, 10: 2, 60: 1 });
  });
});
