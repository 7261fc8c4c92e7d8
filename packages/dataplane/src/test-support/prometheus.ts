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
