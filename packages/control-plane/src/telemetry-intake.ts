// The telemetry one proxy stream reports: screened (telemetry-scope.ts: only series the proxy took part in, for
// services its config carries), held to a budget of rows per reporting interval, and what is refused counted,
// logged and told to the proxy at most once per `TELEMETRY_COMPLAINT_MS` (the stream stays up).
import { TELEMETRY_LIMITS, type ProxyNode } from "@trellis/contracts";
import type { TelemetryAggregator } from "./telemetry.js";
import { describeReasons, screenAccess, screenReport } from "./telemetry-scope.js";

/** Refused telemetry is logged and told to the proxy at most this often per stream (a report is the unit). */
export const TELEMETRY_COMPLAINT_MS = 10_000;
/** The shortest window the series budget of a stream is counted over. */
const TELEMETRY_BUDGET_MIN_MS = 10_000;

export interface TelemetryIntakeDeps {
  telemetry: TelemetryAggregator;
  telemetryIntervalMs: number;
  /** Whether `namespace/name` is a registered service (the registry as of the last recompute). */
  knownService(namespace: string, name: string): boolean;
  /** `refused` of the `reported` rows since the last complaint were refused, for `reasons` (described). */
  complain(refused: number, reported: number, reasons: string): void;
}

export class TelemetryIntake {
  /** Refused telemetry since the last complaint. */
  private refusedSeries = 0;
  private reportedSeries = 0;
  private readonly refusedReasons = new Map<string, number>();
  private lastComplaint = 0;
  /** Rows reported since `budgetSince`. */
  private budgetSince = 0;
  private budgetUsed = 0;

  constructor(private readonly deps: TelemetryIntakeDeps) {}

  /**
   * Takes one report of the proxy `me`. `carries(ns, name)`: whether the config it was sent, or the one in force
   * for it now, carries that service (a report covers calls made under either).
   */
  take(
    me: ProxyNode,
    series: readonly unknown[],
    access: readonly unknown[],
    carries: (ns: string, name: string) => boolean,
    now = Date.now(),
  ): void {
    // A proxy reports once per interval: more series than two full reports per interval (per 10 s when the
    // interval is shorter) is not telemetry but a flood (each distinct series is a row in PostgreSQL).
    if (now - this.budgetSince >= Math.max(this.deps.telemetryIntervalMs, TELEMETRY_BUDGET_MIN_MS)) {
      this.budgetSince = now;
      this.budgetUsed = 0;
    }
    // Access observations are rows too: they count against the same budget.
    this.budgetUsed += series.length + access.length;
    const limit = 2 * TELEMETRY_LIMITS.seriesPerReport;
    const known = this.deps.knownService;
    const overBudget = (n: number) => ({
      accepted: [],
      reasons: new Map([[`over ${limit} series per reporting interval`, n]]),
      refused: n,
    });
    const over = this.budgetUsed > limit;
    const reported = over ? overBudget(series.length) : screenReport(series, me, carries, known);
    const observed =
      access.length === 0
        ? { accepted: [], reasons: new Map<string, number>(), refused: 0 }
        : over
          ? overBudget(access.length)
          : screenAccess(access, me, known);
    const reasons = new Map(reported.reasons);
    for (const [r, n] of observed.reasons) reasons.set(r, (reasons.get(r) ?? 0) + n);
    const refused = reported.refused + observed.refused;
    this.reportedSeries += series.length + access.length;
    if (refused > 0) {
      this.deps.telemetry.countRefused(refused);
      this.refusedSeries += refused;
      for (const [r, n] of reasons) this.refusedReasons.set(r, (this.refusedReasons.get(r) ?? 0) + n);
      if (now - this.lastComplaint >= TELEMETRY_COMPLAINT_MS) this.complain(now);
    }
    this.deps.telemetry.add(reported.accepted);
    if (observed.accepted.length > 0) this.deps.telemetry.addAccess(observed.accepted);
  }

  private complain(now: number): void {
    this.lastComplaint = now;
    this.deps.complain(this.refusedSeries, this.reportedSeries, describeReasons(this.refusedReasons));
    this.refusedSeries = 0;
    this.reportedSeries = 0;
    this.refusedReasons.clear();
  }
}
