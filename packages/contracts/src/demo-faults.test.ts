import { describe, expect, it } from "vitest";
import { demoFaultOf, describeDemoFault, ZDemoFaultSet } from "./demo-faults.js";

const target = { namespace: "demo", service: "reviews", version: "v2" };

/** The paths and messages of a failed parse, as the API's 422 reports them. */
const issues = (input: unknown) => {
  const r = ZDemoFaultSet.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("ZDemoFaultSet", () => {
  it("takes a share of 0–100 with at most one decimal and a latency up to 30s", () => {
    expect(issues({ ...target, percent: 12.5, latency: "250ms" })).toEqual([]);
    expect(issues({ ...target, percent: 100, latency: "30s" })).toEqual([]);
    expect(issues({ ...target, percent: 1.1 })).toEqual([]);
    expect(issues({ ...target, percent: 12.34 })).toEqual([
      "percent: must be a whole number or have one decimal, e.g. 12.5",
    ]);
    expect(issues({ ...target, percent: 101 })).toEqual(["percent: must be 0–100"]);
    expect(issues({ ...target, percent: -1 })).toEqual(["percent: must be 0–100"]);
    expect(issues({ ...target, percent: 5, latency: "31s" })).toEqual(["latency: must be at most 30s"]);
    expect(issues({ ...target, percent: 5, latency: "soon" })).toEqual([
      'latency: must be a duration such as "250ms", "2s", "1m" or "1m30s"',
    ]);
    expect(issues({ ...target, service: "Reviews", percent: 5 })[0]).toMatch(/^service: /);
    expect(issues({ ...target, percent: 5, extra: 1 })[0]).toMatch(/extra/);
  });

  it("clears with 0 % and no latency; latency alone is a fault", () => {
    expect(demoFaultOf({ ...target, percent: 0 })).toBeNull();
    expect(demoFaultOf({ ...target, percent: 0, latency: "0s" })).toBeNull();
    const slow = demoFaultOf({ ...target, percent: 0, latency: "1.5s" });
    expect(slow).toEqual({ ...target, percent: 0, latencyMs: 1500 });
    expect(describeDemoFault(slow!)).toBe("reviews v2 in demo: +1.5s");
    expect(describeDemoFault(demoFaultOf({ ...target, percent: 50, latency: "200ms" })!)).toBe(
      "reviews v2 in demo: 50 % errors, +200ms",
    );
  });
});
