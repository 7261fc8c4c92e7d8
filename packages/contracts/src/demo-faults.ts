import { z } from "zod";
import { ZNamespace, ZServiceName, ZVersion } from "./names.js";
import { durationMs, formatDuration, zDuration } from "./resources/common.js";

// The demo's fault switch (decision 023, "The demo's fault switch"): a demo workload answers a share of its
// requests with an error and/or late, so that anyone trying Trellis can watch a rollout roll back. One schema
// for the API input, the CLI's flags and what the demo's apps apply.

/** The longest latency a fault may add: longer would only trip the callers' timeouts, which says nothing new. */
export const DEMO_FAULT_MAX_LATENCY_MS = 30_000;

/** Whole or one decimal: `12.5` is a share a person types; `12.345` is a typo or a computation leaking in. */
const oneDecimal = (p: number) => Math.abs(Math.round(p * 10) - p * 10) < 1e-6;

export const ZDemoFaultPercent = z
  .number()
  .min(0, "must be 0–100")
  .max(100, "must be 0–100")
  .refine(oneDecimal, "must be a whole number or have one decimal, e.g. 12.5");

/** Which demo workload: a (namespace, service, version) whose app the demo runs. */
export const ZDemoFaultTarget = z.strictObject({
  namespace: ZNamespace,
  service: ZServiceName,
  version: ZVersion,
});
export type DemoFaultTarget = z.infer<typeof ZDemoFaultTarget>;

/**
 * Sets a workload's fault. `percent` 0 and no latency (or `0s`) clears it. gRPC calls to a failing workload end
 * with status UNAVAILABLE instead of HTTP 500.
 */
export const ZDemoFaultSet = ZDemoFaultTarget.extend({
  /** Share of requests answered with an error (HTTP 500, gRPC UNAVAILABLE), 0–100, at most one decimal. */
  percent: ZDemoFaultPercent,
  /** Added before every answer (failed or not), as users write durations: `250ms`, `2s`; at most 30s. */
  latency: zDuration({ max: DEMO_FAULT_MAX_LATENCY_MS }).optional(),
});
export type DemoFaultSet = z.infer<typeof ZDemoFaultSet>;

/** A fault in force. */
export const ZDemoFault = ZDemoFaultTarget.extend({
  percent: ZDemoFaultPercent,
  latencyMs: z.number().int().min(0).max(DEMO_FAULT_MAX_LATENCY_MS),
});
export type DemoFault = z.infer<typeof ZDemoFault>;

export const ZDemoFaultListInput = z.strictObject({
  namespace: ZNamespace.optional().describe("only this namespace's faults; all readable ones if absent"),
});
export type DemoFaultListInput = z.infer<typeof ZDemoFaultListInput>;

export const ZDemoFaultList = z.strictObject({ items: z.array(ZDemoFault) });
export type DemoFaultList = z.infer<typeof ZDemoFaultList>;

/** What a set request puts in force; `null`: it clears the workload's fault. */
export function demoFaultOf(set: DemoFaultSet): DemoFault | null {
  const latencyMs = set.latency === undefined ? 0 : durationMs(set.latency);
  if (set.percent === 0 && latencyMs === 0) return null;
  return {
    namespace: set.namespace,
    service: set.service,
    version: set.version,
    percent: set.percent,
    latencyMs,
  };
}

/** `reviews v2 in demo: 50 % errors, +200ms`, for a person. */
export function describeDemoFault(f: DemoFault): string {
  const parts = [
    ...(f.percent > 0 ? [`${f.percent} % errors`] : []),
    ...(f.latencyMs > 0 ? [`+${formatDuration(f.latencyMs)}`] : []),
  ];
  return `${f.service} ${f.version} in ${f.namespace}: ${parts.join(", ")}`;
}
