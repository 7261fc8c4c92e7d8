import { describe, expect, it } from "vitest";
import {
  FAMILIES,
  REQUEST_FAMILIES,
  type CounterFamily,
  type FamilyName,
  type ScalarFamily,
} from "./families.js";
import { escapeHelp, labelPairs, Metrics, UnknownFamilyError, type Sample } from "./metrics.js";
import { familyOf } from "../test-support/prometheus.js";

const NAMES = Object.keys(FAMILIES) as FamilyName[];
const isRequestFamily = (n: string) => (REQUEST_FAMILIES as readonly string[]).includes(n);
const isCounter = (n: ScalarFamily): n is CounterFamily => FAMILIES[n].type === "counter";

/** A Metrics with samples in every family, added in an order that interleaves families. */
function everyFamily(): { m: Metrics; extra: Sample[] } {
  const m = new Metrics();
  const web = { namespace: "shop", service: "web", version: "v1" };
  m.requestSeries("outbound", web, { namespace: "shop", service: "reviews", version: "v2" }).record(200, 3);
  m.requestSeries("inbound", web, web, true).record(503, 40);
  const scalars = NAMES.filter((n) => !isRequestFamily(n)) as ScalarFamily[];
  const extra: Sample[] = [];
  // Two label sets per family, the second after every family's first: render has to regroup them.
  for (const round of ["a", "b"]) {
    for (const n of scalars) {
      if (isCounter(n) && round === "a") m.add(n, labelPairs({ k: round }));
      else extra.push([n, labelPairs({ k: round }), 1]);
    }
  }
  return { m, extra };
}

describe("metric families (families.ts)", () => {
  it("have names promlint accepts: snake_case, counters end in _total and nothing else does", () => {
    for (const n of NAMES) {
      expect(n).toMatch(/^trellis_[a-z0-9]+(_[a-z0-9]+)*$/);
      expect({ n, counter: FAMILIES[n].type === "counter" }).toEqual({ n, counter: n.endsWith("_total") });
      expect(FAMILIES[n].help.length).toBeGreaterThan(10);
    }
  });

  it("render HELP and TYPE once per family, right before its samples, every family grouped", () => {
    const { m, extra } = everyFamily();
    const lines = m.render(extra).trimEnd().split("\n");
    const headers = new Map<string, number>();
    let current: string | null = null;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const help = /^# HELP (\S+) (.*)$/.exec(line);
      if (help !== null) {
        const n = help[1] as FamilyName;
        expect(headers.has(n), `second HELP for ${n}`).toBe(false);
        headers.set(n, i);
        expect(help[2]).toBe(escapeHelp(FAMILIES[n].help));
        expect(lines[i + 1]).toBe(`# TYPE ${n} ${FAMILIES[n].type}`);
        expect(lines[i + 2], `${n} has no samples after its header`).not.toMatch(/^#/);
        current = n;
        i++;
        continue;
      }
      expect(line).not.toMatch(/^#/);
      expect({ line, family: familyOf(line) }).toEqual({ line, family: current });
    }
    expect([...headers.keys()].sort()).toEqual([...NAMES].sort());
    // In the table's order.
    expect([...headers.keys()]).toEqual(NAMES);
  });

  it("leave out families without samples", () => {
    const m = new Metrics();
    expect(m.render()).toBe("");
    m.add("trellis_config_applied_total");
    expect(m.render()).toBe(
      `# HELP trellis_config_applied_total ${FAMILIES.trellis_config_applied_total.help}\n` +
        "# TYPE trellis_config_applied_total counter\ntrellis_config_applied_total 1\n",
    );
  });

  it("refuse a sample of an unregistered family instead of serving it without HELP and TYPE", () => {
    const m = new Metrics();
    // @ts-expect-error: not in families.ts, so it does not compile
    expect(() => m.add("trellis_unregistered_total")).toThrow(UnknownFamilyError);
    // @ts-expect-error: a gauge is set, not added to
    m.set("trellis_config_applied_total", "", 1);
    const unregistered = ["trellis_unregistered", "", 1] as unknown as Sample;
    expect(() => m.render([unregistered])).toThrow(/"trellis_unregistered" is not a counter or gauge/);
    // Request families come from request series only (a sample without its histogram's shape would be wrong).
    for (const n of REQUEST_FAMILIES) {
      expect(() => m.render([[n, "", 1] as unknown as Sample])).toThrow(UnknownFamilyError);
    }
  });
});

describe("escaping (text format 0.0.4)", () => {
  it("escapes backslash and line feed in HELP, and backslash, quote and line feed in label values", () => {
    expect(escapeHelp('a\\b\nc "d"')).toBe('a\\\\b\\nc "d"');
    expect(labelPairs({ version: 'a\\b\nc "d"', k: "" })).toBe('version="a\\\\b\\nc \\"d\\"",k=""');
    const m = new Metrics();
    m.requestSeries(
      "outbound",
      { namespace: "shop", service: 'we"b', version: "v\\1\n" },
      { namespace: "shop", service: "reviews", version: "v2" },
    ).record(200, 1);
    expect(m.render()).toContain('source_service="we\\"b",source_version="v\\\\1\\n"');
  });
});
