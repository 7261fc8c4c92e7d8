// What the benchmarks measure with (the data plane's bench/bench.mjs, the CLI's bench/capture.mjs): processes'
// CPU time from /proc, medians and quantiles, a Markdown table, the kernel's CPU pressure. One definition, so two
// benchmarks' "CPU µs/req" and "p99" mean the same thing. Exported through `@trellis/dataplane/testing`; Node
// built-ins only (and `getconf`, once).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;

/** The unit of utime and stime in /proc/<pid>/stat (`getconf CLK_TCK`; 100 on every Linux we run). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * CPU time (user + system, all threads) the processes have used so far, in seconds: /proc/<pid>/stat's utime
 * and stime. The resolution is one clock tick (10 ms), so a phase should cost a few hundred ms at least.
 */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(f[11]) + Number(f[12]); // fields 14 and 15: utime, stime
  }
  return ticks / clockTicksPerSecond();
}

/** The middle value (the upper one of the two middles for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
}

/** Nearest rank: the value below which a fraction `q` of `sorted` (ascending) lies; NaN for none. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Rows with the same keys, as a Markdown table (the keys are the header), one line per row. */
export function markdownTable(rows: readonly Record<string, string | number>[]): string {
  if (rows.length === 0) return "";
  const cols = Object.keys(rows[0]!);
  return [
    `| ${cols.join(" | ")} |`,
    `|${cols.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${cols.map((c) => r[c]).join(" | ")} |`),
  ].join("\n");
}

/** The kernel's CPU pressure (PSI) line: how much runnable work waited for a CPU, i.e. how noisy a run was. */
export function cpuPressure(): string {
  try {
    return readFileSync("/proc/pressure/cpu", "utf8").split("\n")[0]!;
  } catch {
    return "not available";
  }
}
