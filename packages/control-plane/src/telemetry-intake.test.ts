// One stream's telemetry intake alone: refused rows are counted and complained about at most once per
// TELEMETRY_COMPLAINT_MS, and a stream reporting more than two full reports per interval is refused as a flood.
// (Which series a proxy may report is telemetry-scope's, tested in tenant-scope.test.ts against a real stream.)
import { describe, expect, it } from "vitest";
import { TELEMETRY_LIMITS, type ProxyNode } from "@trellis/contracts";
import { TelemetryAggregator } from "./telemetry.js";
import { TELEMETRY_COMPLAINT_MS, TelemetryIntake } from "./telemetry-intake.js";

const me: ProxyNode = {
  namespace: "shop",
  service: "web",
  version: "v1",
  address: "127.0.0.1:15006",
} as ProxyNode;

function intake(intervalMs = 10_000) {
  const telemetry = new TelemetryAggregator();
  const complaints: { refused: number; reported: number; reasons: string }[] = [];
  const i = new TelemetryIntake({
    telemetry,
    telemetryIntervalMs: intervalMs,
    knownService: () => true,
    complain: (refused, reported, reasons) => complaints.push({ refused, reported, reasons }),
  });
  return { i, telemetry, complaints };
}
const nothingCarried = () => false;

describe("telemetry intake", () => {
  it("refuses malformed series, counts them, and complains at most once per window with what piled up", () => {
    const { i, telemetry, complaints } = intake();
    const t0 = 1_000_000;
    i.take(me, [{ bogus: true }], [], nothingCarried, t0);
    expect(telemetry.refused).toBe(1);
    expect(complaints).toHaveLength(1);
    expect(complaints[0]).toMatchObject({ refused: 1, reported: 1 });
    // Within the window: counted, not complained about.
    i.take(me, [{ bogus: 1 }, { bogus: 2 }], [], nothingCarried, t0 + 1_000);
    expect(telemetry.refused).toBe(3);
    expect(complaints).toHaveLength(1);
    // After it: one complaint with everything since the last.
    i.take(me, [], [{ bogus: 3 }], nothingCarried, t0 + TELEMETRY_COMPLAINT_MS);
    expect(complaints).toHaveLength(2);
    expect(complaints[1]).toMatchObject({ refused: 3, reported: 3 });
    expect(telemetry.size).toBe(0);
  });

  it("refuses a flood: more rows than two full reports per interval, counted together with access rows", () => {
    const { i, telemetry, complaints } = intake(60_000);
    const limit = 2 * TELEMETRY_LIMITS.seriesPerReport;
    const t0 = 5_000_000;
    const rows = (n: number) => Array.from({ length: n }, () => ({}));
    i.take(me, rows(limit - 1), [], nothingCarried, t0);
    const before = telemetry.refused;
    i.take(me, [], rows(2), nothingCarried, t0 + 1);
    expect(telemetry.refused - before).toBe(2);
    // Told at the next complaint: the two access rows and this one.
    i.take(me, rows(1), [], nothingCarried, t0 + TELEMETRY_COMPLAINT_MS);
    expect(complaints.at(-1)?.reasons).toMatch(`over ${limit} series per reporting interval (3)`);
    // The budget is counted per interval: the next interval starts afresh.
    const { i: fresh, complaints: quiet } = intake(60_000);
    fresh.take(me, rows(limit), [], nothingCarried, t0);
    fresh.take(me, rows(1), [], nothingCarried, t0 + 60_000);
    expect(quiet.every((c) => !c.reasons.includes("over"))).toBe(true);
  });
});
