// Reading Prometheus text in tests: which family a sample line belongs to, and which series repeat.
import { FAMILIES, type FamilyName } from "../telemetry/families.js";

/** The family of a sample line: its metric name, or the histogram it is a `_bucket`, `_sum` or `_count` of. */
export function familyOf(line: string): string {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0];
  const h = /^(.*)_(bucket|sum|count)$/.exec(name);
  return h !== null && FAMILIES[h[1] as FamilyName]?.type === "histogram" ? h[1]! : name;
}

/** The sample lines of a text (no comments, no blank lines). */
export const sampleLines = (text: string) => text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));

/**
 * Series that appear more than once (same name and labels). promtool 2.42 does not look for them, but
 * Prometheus drops the repeats of a scrape and counts them in prometheus_target_scrapes_sample_duplicate_timestamp_total.
 */
export function repeatedSeries(text: string): string[] {
  const seen = new Set<string>();
  const repeated: string[] = [];
  for (const line of sampleLines(text)) {
    const series = line.slice(0, line.lastIndexOf(" "));
    if (seen.has(series)) repeated.push(series);
    seen.add(series);
  }
  return repeated;
}

/** The admin listener's metrics, read back: `value(family, labels)` sums the samples carrying those labels. */
export async function scrape(adminPort: number): Promise<{
  text: string;
  value(family: string, labels?: Record<string, string>): number;
}> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/stats/prometheus`);
  const text = await res.text();
  return {
    text,
    value(family, labels = {}) {
      let sum = 0;
      for (const line of sampleLines(text)) {
        if (familyOf(line) !== family || !line.startsWith(family)) continue;
        const l = /\{(.*)\}/.exec(line)?.[1] ?? "";
        if (Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)))
          sum += Number(line.slice(line.lastIndexOf(" ") + 1));
      }
      return sum;
    },
  };
}
