// How a window of whole minutes is read from the telemetry levels (decision 020): per-minute rows
// (TelemetryRollup), 10-minute rows (TelemetryEdgeRollup) and hour rows (TelemetryEdgeRollupHour), each a sum
// of the per-minute rows it covers. Sums are linear, so a window is any signed combination of buckets whose
// coefficients add up to 1 on every minute inside it and 0 outside: [14:34, 15:35) is the hour 15:00 plus the
// 10-minute buckets 14:30–14:50, minus the minutes 14:30–14:33 (and minus the 10-minute buckets 15:40–15:50,
// which hold nothing yet). Among such combinations the cheapest is taken, counting only buckets that can hold
// rows (those starting before now): a window ending now never pays for its unfinished tail.
//
// Pure and synchronous: traffic.ts turns a plan into SQL, edge-rollup.test.ts checks plans against the
// per-minute truth, graph-window.test.ts checks that every plan covers its window exactly.

/** A level: its bucket in minutes. Buckets are aligned on the epoch, as the triggers cut them. */
export type Level = 1 | 10 | 60;

/** Every level, coarsest first. */
export const LEVELS: readonly Level[] = [60, 10, 1];

/** Consecutive buckets of one level, [from, to) in epoch minutes, each counted `coef` times. */
export interface LevelRange {
  level: Level;
  from: number;
  to: number;
  coef: number;
}

/**
 * A per-minute row splits an edge-minute by status code and is read more often than not for both reporters:
 * it costs more than a coarse row, which holds one edge and protocol. The factor only steers ties.
 */
const MINUTE_COST = 1.5;

interface Plan {
  cost: number;
  /** `level:start` → coefficient. */
  terms: Map<string, number>;
}

const floorTo = (x: number, s: number) => Math.floor(x / s) * s;
const ceilTo = (x: number, s: number) => Math.ceil(x / s) * s;

/**
 * The cheapest signed cover of the minutes [lo, hi) by buckets of `levels` (coarsest first, ending with 1).
 * `nowMinute`: the first minute that cannot hold rows yet (the one after the current minute).
 */
export function planWindow(
  lo: number,
  hi: number,
  nowMinute: number,
  levels: readonly Level[] = LEVELS,
): LevelRange[] {
  if (levels[levels.length - 1] !== 1) throw new Error("the finest level must be the minute");
  const plan = cover(lo, hi, 0, 1, levels, nowMinute);
  return toRanges(plan.terms);
}

function cover(
  lo: number,
  hi: number,
  idx: number,
  sign: number,
  levels: readonly Level[],
  now: number,
): Plan {
  const size = levels[idx]!;
  if (lo >= hi) return { cost: 0, terms: new Map() };
  const live = (from: number, to: number) => Math.max(0, Math.ceil((Math.min(to, now) - from) / size));
  if (size === 1) {
    const terms = new Map<string, number>();
    for (let m = lo; m < hi; m++) terms.set(`1:${m}`, sign);
    return { cost: live(lo, hi) * MINUTE_COST, terms };
  }
  let best = cover(lo, hi, idx + 1, sign, levels, now);
  // Start and end on this level's grid, inside or outside the window; the lower levels make up the difference.
  for (const a of [ceilTo(lo, size), floorTo(lo, size)])
    for (const b of [floorTo(hi, size), ceilTo(hi, size)]) {
      if (a >= b) continue;
      let cost = live(a, b);
      if (cost >= best.cost) continue;
      const parts: Plan[] = [
        a < lo ? cover(a, lo, idx + 1, -sign, levels, now) : cover(lo, a, idx + 1, sign, levels, now),
        b > hi ? cover(hi, b, idx + 1, -sign, levels, now) : cover(b, hi, idx + 1, sign, levels, now),
      ];
      cost += parts[0]!.cost + parts[1]!.cost;
      if (cost >= best.cost) continue;
      const terms = new Map<string, number>();
      for (let t = a; t < b; t += size) terms.set(`${size}:${t}`, sign);
      for (const p of parts) for (const [k, c] of p.terms) terms.set(k, (terms.get(k) ?? 0) + c);
      best = { cost, terms };
    }
  return best;
}

/** Terms merged into runs of consecutive buckets with the same level and coefficient. */
function toRanges(terms: Map<string, number>): LevelRange[] {
  const out: LevelRange[] = [];
  const sorted = [...terms]
    .filter(([, c]) => c !== 0)
    .map(([k, coef]) => {
      const [level, start] = k.split(":").map(Number) as [Level, number];
      return { level, start, coef };
    })
    .sort((x, y) => y.level - x.level || x.start - y.start);
  for (const t of sorted) {
    const last = out[out.length - 1];
    if (last && last.level === t.level && last.coef === t.coef && last.to === t.start) last.to += t.level;
    else out.push({ level: t.level, from: t.start, to: t.start + t.level, coef: t.coef });
  }
  return out;
}
