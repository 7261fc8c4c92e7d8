import { z } from "zod";
import { ZNamespace, ZQualifiedServiceName, ZServiceName, ZVersion } from "./names.js";
import { ZTrafficProtocol, ZWorkloadRef } from "./mesh-stream.js";

// Observed traffic, read from the telemetry rollups: what the live graph, the service views and the impact
// preview of a change are drawn from.

export const ZTrafficQuery = z.object({
  namespace: ZNamespace.optional().describe(
    "edges with either end in this namespace; all readable ones if absent",
  ),
  minutes: z.coerce
    .number()
    .int()
    .min(1)
    .max(1440)
    .default(5)
    .describe("window length, 1 minute to 24 hours"),
  until: z.iso
    .datetime()
    .optional()
    .describe(
      "end of the window (replay a past window): a time inside a past minute ends it at that minute's start; default now",
    ),
  versions: z
    .enum(["split", "merged"])
    .default("split")
    .describe("split each service by version, or merge its versions"),
});
export type TrafficQuery = z.input<typeof ZTrafficQuery>;

export const ZObservedEdge = z.object({
  /** Version is "*" when the query merges versions. */
  source: ZWorkloadRef,
  destination: ZWorkloadRef,
  requests: z.number().int().nonnegative(),
  rps: z.number().nonnegative(),
  /** Share of requests that failed (0..1): answered 5xx, or for gRPC any status but OK; for TCP edges always 0. */
  errorRate: z.number().min(0).max(1),
  /** Latency quantiles in ms, interpolated within the histogram's buckets; null without requests. */
  p50Ms: z.number().nullable(),
  p95Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
  /** Share of requests that crossed the mesh over mutual TLS (0..1). */
  mtlsShare: z.number().min(0).max(1),
  /** `http` when any request had a status code, else `tcp`. See `protocols` for the finer split. */
  protocol: z.enum(["http", "tcp"]),
  /** What the calls on this edge spoke, sorted: `http1`, `http2`, `grpc`, `websocket`, `tcp`. */
  protocols: z.array(ZTrafficProtocol),
  /** Requests by status code ("0" for TCP connections). */
  codes: z.record(z.string(), z.number().int().nonnegative()),
});
export type ObservedEdge = z.infer<typeof ZObservedEdge>;

export const ZObservedTraffic = z.object({
  from: z.iso.datetime(),
  until: z.iso.datetime(),
  edges: z.array(ZObservedEdge),
});
export type ObservedTraffic = z.infer<typeof ZObservedTraffic>;

/** Calls into one service over a window, as time series: the service page's charts. */
export const ZServiceSeriesQuery = z.object({
  namespace: ZNamespace,
  service: ZServiceName,
  minutes: ZTrafficQuery.shape.minutes,
  until: ZTrafficQuery.shape.until,
  by: z
    .enum(["version", "caller", "total"])
    .default("version")
    .describe("one series per version of the service, per calling service, or one for all its calls"),
  caller: ZQualifiedServiceName.optional().describe(
    "only calls from this service (`namespace/service`): one edge of the graph",
  ),
  callerVersion: ZVersion.optional().describe("with `caller`: only calls from this version of it"),
});
export type ServiceSeriesQuery = z.input<typeof ZServiceSeriesQuery>;

export const ZSeriesPoint = z.object({
  /** Start of the step. */
  t: z.iso.datetime(),
  requests: z.number().int().nonnegative(),
  rps: z.number().nonnegative(),
  /** Share of requests that failed (0..1): 5xx, or for gRPC any status but OK; 0 without requests. */
  errorRate: z.number().min(0).max(1),
  p50Ms: z.number().nullable(),
  p95Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
});
export type SeriesPoint = z.infer<typeof ZSeriesPoint>;

export const ZServiceSeries = z.object({
  from: z.iso.datetime(),
  until: z.iso.datetime(),
  /** Length of each point's step: one minute up to a 2-hour window, coarser beyond (at most ~120 points). */
  stepSeconds: z.number().int().positive(),
  series: z.array(
    z.object({
      /** The version (`by: version`), the caller as `namespace/service` (`by: caller`), or `*` (`by: total`). */
      key: z.string(),
      /** One point per step from `from` to `until`, steps without calls included (0 requests). */
      points: z.array(ZSeriesPoint),
    }),
  ),
});
export type ServiceSeries = z.infer<typeof ZServiceSeries>;

/**
 * The services list's sparklines: calls into each of many services over one window, in one query. Each
 * service's namespace must be readable by the caller.
 */
export const ZSparklinesQuery = z.object({
  services: z
    .array(ZQualifiedServiceName)
    .min(1)
    .max(500)
    .describe("the services, as `namespace/service`; repeat the parameter for each"),
  minutes: ZTrafficQuery.shape.minutes,
  until: ZTrafficQuery.shape.until,
});
export type SparklinesQuery = z.input<typeof ZSparklinesQuery>;

/** A sparkline's point: the rate and error share of a step, without latencies (a sparkline draws none). */
export const ZSparklinePoint = ZSeriesPoint.pick({ t: true, requests: true, rps: true, errorRate: true });
export type SparklinePoint = z.infer<typeof ZSparklinePoint>;

export const ZSparklines = z.object({
  from: z.iso.datetime(),
  until: z.iso.datetime(),
  /** Length of each step: one minute up to an hour's window, coarser beyond (at most ~60 points). */
  stepSeconds: z.number().int().positive(),
  items: z.array(
    z.object({
      namespace: ZNamespace,
      service: ZServiceName,
      /** One point per step from `from` to `until`, for every service asked for, idle ones too. */
      points: z.array(ZSparklinePoint),
    }),
  ),
});
export type Sparklines = z.infer<typeof ZSparklines>;
