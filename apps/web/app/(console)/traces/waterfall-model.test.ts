import { describe, expect, it } from "vitest";
import type { Trace, TraceSpan } from "@trellis/contracts";
import { formatDuration, waterfall } from "./waterfall-model";

const span = (
  spanId: string,
  parentSpanId: string | null,
  offsetMs: number,
  durationMs: number,
  o: Partial<TraceSpan> = {},
): TraceSpan => ({
  spanId,
  parentSpanId,
  startedAt: "2026-12-07T12:00:00.000Z",
  offsetMs,
  durationMs,
  kind: "server",
  redacted: false,
  namespace: "demo",
  service: "reviews",
  version: "v1",
  origin: "proxy",
  name: "GET",
  status: "unset",
  statusMessage: "",
  httpStatus: 200,
  grpcStatus: null,
  attributes: {},
  events: [],
  ...o,
});

describe("the waterfall", () => {
  it("places each span on the trace's time line, under its parent", () => {
    const trace: Trace = {
      traceId: "a".repeat(32),
      startedAt: "2026-12-07T12:00:00.000Z",
      durationMs: 200,
      spans: [span("1", null, 0, 200), span("2", "1", 50, 100), span("3", "2", 60, 0, { redacted: true })],
    };
    expect(waterfall(trace).map((r) => [r.span.spanId, r.depth, r.left, r.width, r.label])).toEqual([
      ["1", 0, 0, 100, "reviews · GET"],
      ["2", 1, 25, 50, "reviews · GET"],
      ["3", 2, 30, 0.3, "Redacted: a namespace you may not read"],
    ]);
  });

  it("reads durations in the unit that fits", () => {
    expect([0.25, 3.456, 42.31, 1534].map(formatDuration)).toEqual([
      "250 µs",
      "3.46 ms",
      "42.3 ms",
      "1.53 s",
    ]);
  });
});
