import { z } from "zod";
import { ZNamespace } from "./names.js";
import { ZTrafficProtocol } from "./mesh-stream.js";

// The service graph for scripts and the console: nodes are services (or service versions), edges observed
// calls. The shape is a promise to API users: add fields, never rename.

export const ZGraphQuery = z.object({
  namespace: ZNamespace.optional().describe("only nodes and edges touching this namespace"),
  window: z
    .string()
    .regex(/^\d+(m|h)$/, "must be minutes or hours, e.g. 5m or 1h")
    .default("5m")
    .describe("time window ending at `end`: 1m … 24h"),
  groupBy: z.enum(["service", "version"]).default("service").describe("one node per service, or per version"),
  end: z.iso.datetime().optional().describe("end of the window, to replay the past; default now"),
});
export type GraphQuery = z.input<typeof ZGraphQuery>;

export const ZGraphNode = z.object({
  /** `namespace/service` or `namespace/service/version`. */
  id: z.string(),
  namespace: z.string(),
  service: z.string(),
  version: z.string().optional(),
  /** Requests per second it received in the window. */
  rps: z.number().nonnegative(),
  /** Share of those that failed (0..1): 5xx, or for gRPC any status but OK. */
  errorRate: z.number().min(0).max(1),
  /** Registered in the mesh (has had a proxy); false for callers seen only in telemetry (e.g. "unknown"). */
  registered: z.boolean(),
});
export type GraphNode = z.infer<typeof ZGraphNode>;

export const ZGraphEdge = z.object({
  source: z.string(),
  target: z.string(),
  rps: z.number().nonnegative(),
  errorRate: z.number().min(0).max(1),
  p50: z.number().nullable(),
  p95: z.number().nullable(),
  p99: z.number().nullable(),
  /** 0..100 */
  mtlsPercent: z.number().min(0).max(100),
  protocol: z.enum(["http", "tcp"]),
  /** What the calls on this edge spoke, sorted (`http1`, `http2`, `grpc`, `websocket`, `tcp`). */
  protocols: z.array(ZTrafficProtocol),
});
export type GraphEdge = z.infer<typeof ZGraphEdge>;

export const ZGraph = z.object({
  from: z.iso.datetime(),
  end: z.iso.datetime(),
  nodes: z.array(ZGraphNode),
  edges: z.array(ZGraphEdge),
});
export type Graph = z.infer<typeof ZGraph>;
