import { z } from "zod";
import { ZDnsLabel, ZNewNamespace, ZNewServiceName, ZNewVersion } from "./names.js";
import { ZHostPort } from "./proxy-config.js";

/**
 * The stream between a proxy and the control plane, modelled on Envoy's xDS: the control plane pushes
 * versioned config snapshots; the proxy answers each with an ACK (applied) or a NACK (refused, with why, and
 * still serving its last good config). Versions are compared for equality only.
 *
 * A snapshot goes out whole (`config`) or, to a proxy that said it can (`features: ["delta"]`), as a `delta`
 * against the version the control plane last sent it: only the outbound services that changed, the ones
 * removed, and the rest of the config when it changed (as xDS's incremental variant does). A proxy that
 * cannot apply a delta (its base is not what it holds) answers `resync` and is sent the whole snapshot.
 * Applying a delta is `applyConfigDelta` (config-delta.ts), shared by every client.
 *
 * Transport: one WebSocket per proxy over TLS at `wss://<control-plane>/v1/stream`, JSON messages, the join
 * token as `Authorization: Bearer <token>` on the upgrade. Server pings every `heartbeatMs`; a proxy that
 * misses two is treated as gone. The proxy trusts the control plane only after checking the CA served at
 * `/v1/ca` against the fingerprint inside its join token (as `kubeadm join` does).
 *
 * When to edit this file: when the protocol learns a message or a field. Old proxies must keep working:
 * add optional fields, never repurpose one.
 */

export const MESH_STREAM_PATH = "/v1/stream";
export const MESH_CA_PATH = "/v1/ca";
/**
 * The control plane's trace intake (OTLP/HTTP, protobuf), on the same HTTPS port. Proxies POST with their
 * workload certificate as client certificate: the spans are stored as that workload's. Spans an app gave its
 * sidecar are relayed with the header `MESH_SPAN_ORIGIN_HEADER: app`.
 */
export const MESH_TRACES_PATH = "/v1/traces";
export const MESH_SPAN_ORIGIN_HEADER = "trellis-span-origin";

// ---------------------------------------------------------------------------------------------------------
// Join tokens: `tj1.<CA fingerprint>.<secret>`, everything a proxy needs besides the control plane's URL.
// ---------------------------------------------------------------------------------------------------------

const B64URL_256 = /^[A-Za-z0-9_-]{43}$/;

export interface JoinToken {
  /** SHA-256 of the mesh CA certificate's DER, base64url. */
  caFingerprint: string;
  /** 256-bit random secret, base64url; the control plane stores only its SHA-256. */
  secret: string;
}

export function formatJoinToken(t: JoinToken): string {
  return `tj1.${t.caFingerprint}.${t.secret}`;
}

export function parseJoinToken(token: string): JoinToken | null {
  const parts = token.trim().split(".");
  if (parts.length !== 3 || parts[0] !== "tj1") return null;
  const [, caFingerprint, secret] = parts as [string, string, string];
  if (!B64URL_256.test(caFingerprint) || !B64URL_256.test(secret)) return null;
  return { caFingerprint, secret };
}

// ---------------------------------------------------------------------------------------------------------
// Telemetry
// ---------------------------------------------------------------------------------------------------------

/**
 * Upper bounds (ms) of the latency histogram buckets that proxies report and rollups store. A count at index
 * i is for requests at or under `LATENCY_BUCKETS_MS[i]`; one extra slot at the end counts slower ones.
 */
export const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;

export const ZWorkloadRef = z.object({
  namespace: z.string().max(63),
  service: z.string().max(63),
  version: z.string().max(63),
});
export type WorkloadRef = z.infer<typeof ZWorkloadRef>;

/**
 * What a call spoke, as the proxies see it: `http1` (HTTP/1.1), `http2` (HTTP/2 that is not gRPC), `grpc`
 * (HTTP/2 with `content-type: application/grpc…`), `websocket` (an HTTP/1.1 Upgrade to WebSocket; one
 * request per session), `tcp` (a passed-through connection). The same call is classified alike by both
 * sidecars: the calling sidecar forwards HTTP/2 as HTTP/2 and HTTP/1.1 as HTTP/1.1.
 */
export const TRAFFIC_PROTOCOLS = ["http1", "http2", "grpc", "websocket", "tcp"] as const;
export const ZTrafficProtocol = z.enum(TRAFFIC_PROTOCOLS);
export type TrafficProtocol = z.infer<typeof ZTrafficProtocol>;

/** The protocol of a series from a proxy that does not report one (older proxies): TCP for code 0, else HTTP/1.1. */
export function seriesProtocol(s: { protocol?: TrafficProtocol | undefined; code: number }): TrafficProtocol {
  return s.protocol ?? (s.code === 0 ? "tcp" : "http1");
}

/**
 * Whether requests with this outcome count as errors. HTTP: 5xx. gRPC: any status but OK. A gRPC answer is
 * HTTP 200 whatever its outcome, so proxies report it under the HTTP status the gRPC spec pairs with its
 * `grpc-status` (`UNAVAILABLE` → 503, `NOT_FOUND` → 404, `CANCELLED` → 499, …; OK stays 200), and every
 * non-OK status maps to 4xx or 5xx.
 * The definition: PostgreSQL's two spellings of it (services' ERROR_OUTCOME_SQL and the edge rollup trigger
 * in prisma/migrations) are held to it, code by code, by services/src/error-outcome.test.ts.
 */
export function isErrorOutcome(protocol: string, code: number): boolean {
  return code >= 500 || (protocol === "grpc" && code >= 400);
}

/**
 * Bounds of one series in one report. A report is a proxy's word about traffic it took part in, and what it
 * says is stored and summed into every later graph and change preview: numbers a real proxy cannot produce
 * are refused, not stored. Generous for real proxies (a million requests a second for the longest interval).
 */
export const TELEMETRY_LIMITS = {
  /** Series in one report: one per (direction, peer, version, code, protocol) seen in an interval. */
  seriesPerReport: 10_000,
  /** Requests (or TCP connections) in one series of one report. */
  requests: 1_000_000_000,
  /** Mean duration a request may have taken: 7 days (a long-lived TCP connection or WebSocket). */
  requestMs: 7 * 86_400_000,
  /** Bytes either way in one series of one report: 32 TiB. */
  bytes: 2 ** 45,
} as const;

/** A workload as a report names it: DNS labels (`unknown` when the proxy could not tell), like the hello's. */
export const ZReportedWorkload = z.object({
  namespace: ZDnsLabel,
  service: ZDnsLabel,
  version: ZDnsLabel,
});

const ZCount = z.number().int().min(0).max(TELEMETRY_LIMITS.requests);

/** Traffic between two workloads with one status code over one reporting interval (counts are deltas). */
export const ZTelemetrySeries = z
  .object({
    source: ZReportedWorkload,
    destination: ZReportedWorkload,
    /** HTTP status, or for a TCP connection 0 (let through) or 403 (refused by AccessPolicies, as HTTP's DP_FORBIDDEN). gRPC: the HTTP status paired with the `grpc-status` (see isErrorOutcome). */
    code: z.number().int().min(0).max(599),
    /** What the calls spoke. Absent (proxies before it was added): see `seriesProtocol`. */
    protocol: ZTrafficProtocol.optional(),
    /** Which side measured it. */
    reporter: z.enum(["inbound", "outbound"]),
    requests: ZCount,
    /** At most `requests`. */
    mtlsRequests: ZCount,
    /** At most `requests` × `TELEMETRY_LIMITS.requestMs`. */
    durationSumMs: z.number().nonnegative().finite(),
    /** `LATENCY_BUCKETS_MS.length + 1` non-cumulative counts, adding up to `requests`. */
    buckets: z.array(ZCount).length(LATENCY_BUCKETS_MS.length + 1),
    bytesSent: z.number().int().min(0).max(TELEMETRY_LIMITS.bytes),
    bytesReceived: z.number().int().min(0).max(TELEMETRY_LIMITS.bytes),
  })
  .superRefine((s, ctx) => {
    // Cross-field rules: what one proxy's counters always satisfy (metrics.ts drainTelemetry).
    if (s.mtlsRequests > s.requests)
      ctx.addIssue({ code: "custom", path: ["mtlsRequests"], message: "must be at most requests" });
    if (s.durationSumMs > s.requests * TELEMETRY_LIMITS.requestMs)
      ctx.addIssue({ code: "custom", path: ["durationSumMs"], message: "must be at most requests × 7 days" });
    if (s.buckets.reduce((a, b) => a + b, 0) !== s.requests)
      ctx.addIssue({ code: "custom", path: ["buckets"], message: "must add up to requests" });
  });
export type TelemetrySeries = z.infer<typeof ZTelemetrySeries>;

/**
 * Access observations: what the callee's sidecar saw each caller ask for, so that "Restrict callers to what was
 * observed" can narrow an allow rule by method and path (decision 006). Recorded on the inbound side only, where
 * the caller is named by the certificate authorization checked, and bounded on both ends:
 * - methods: RFC 9110's eight and PATCH; anything else is `OTHER` (which no allow rule can name);
 * - paths: the first segment only, in the AccessPolicy form: `/` (the root), `/api` (exactly that path),
 *   `/api/*` (anything under it); never a query. At most `prefixesPerInterval` distinct ones per proxy per
 *   interval; the rest, and first segments that are too long or hold `*`, are folded into `/*` (every path).
 */
export const ACCESS_METHODS = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
] as const;
export const ACCESS_OTHER_METHOD = "OTHER";
/** Every path: where prefixes beyond the bound are folded. */
export const ACCESS_ANY_PATH = "/*";
export const ACCESS_LIMITS = {
  /** Distinct path prefixes one proxy records per reporting interval (beyond: `/*`). */
  prefixesPerInterval: 32,
  /** A first segment longer than this is folded into `/*`. */
  segmentLength: 64,
  /** Observations in one report: (caller, method, prefix) triples. */
  observationsPerReport: 4_096,
} as const;

/**
 * `/`, `/seg` or `/seg/*`, or `/*`: what a proxy reports and a rule accepts. A segment is printable ASCII without
 * `*` (a rule allows it only at the end), `?` or `#`: a query or a fragment is never recorded.
 */
export const ZAccessPrefix = z
  .string()
  .max(ACCESS_LIMITS.segmentLength + 3)
  .regex(
    /^\/([\x21\x22\x24-\x29\x2b-\x2e\x30-\x3e\x40-\x7e]+(\/\*)?|\*)?$/,
    "must be /, /segment, /segment/* or /*, without a query",
  );

/** Requests of one caller with one method under one path prefix, over one reporting interval (a delta). */
export const ZAccessObservation = z.object({
  /** The caller by mesh identity (`unknown`/`unknown` without one). */
  source: z.object({ namespace: ZDnsLabel, service: ZDnsLabel }),
  /** The reporting proxy's own service: a proxy reports only what it was asked. */
  destination: z.object({ namespace: ZDnsLabel, service: ZDnsLabel }),
  method: z.enum([...ACCESS_METHODS, ACCESS_OTHER_METHOD]),
  path: ZAccessPrefix,
  requests: z.number().int().min(1).max(TELEMETRY_LIMITS.requests),
});
export type AccessObservation = z.infer<typeof ZAccessObservation>;

// ---------------------------------------------------------------------------------------------------------
// Proxy → control plane
// ---------------------------------------------------------------------------------------------------------

/** A service a proxy calls: `name` (its own namespace) or `namespace/name`. */
export const ZReachableService = z
  .string()
  .regex(
    /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\/)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    "must be a service name, or namespace/name",
  );

/**
 * Labels on a workload, as Kubernetes spells them: a key is a name, optionally prefixed by a DNS subdomain and
 * `/` (`app`, `trellis.dev/tier`); a name and a value are at most 63 of `[A-Za-z0-9_.-]`, starting and ending
 * with a letter or digit (a value may be empty). At most `MAX_PROXY_LABELS`: they are stored with the workload
 * and shown in the console, so their size is bounded here, not by the 8 MiB frame limit.
 */
export const MAX_PROXY_LABELS = 64;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const ZLabelKey = z.string().refine((k) => {
  const slash = k.indexOf("/");
  if (slash === -1) return LABEL_NAME.test(k);
  const prefix = k.slice(0, slash);
  return prefix.length <= 253 && LABEL_PREFIX.test(prefix) && LABEL_NAME.test(k.slice(slash + 1));
}, "must be a Kubernetes label key: [prefix/]name, name at most 63 of [A-Za-z0-9_.-], starting and ending alphanumeric");
export const ZLabelValue = z
  .string()
  .refine(
    (v) => v === "" || LABEL_NAME.test(v),
    "must be empty or at most 63 of [A-Za-z0-9_.-], starting and ending alphanumeric",
  );
export const ZProxyLabels = z
  .record(ZLabelKey, ZLabelValue)
  .refine((l) => Object.keys(l).length <= MAX_PROXY_LABELS, `must be at most ${MAX_PROXY_LABELS} labels`);

export const ZProxyNode = z.object({
  namespace: ZNewNamespace,
  service: ZNewServiceName,
  version: ZNewVersion,
  /** host:port of this proxy's inbound (mTLS) listener as other proxies reach it. */
  address: z.string().max(300).pipe(ZHostPort),
  /** Kubernetes label syntax and bounds (see `ZProxyLabels`). */
  labels: ZProxyLabels.default({}),
  /** The proxy's build, for people: printable ASCII. */
  proxyVersion: z
    .string()
    .max(64)
    .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
    .optional(),
  /**
   * The services this workload calls (`name` in its own namespace, or `namespace/name`), like Kuma's
   * reachable services or an Istio Sidecar's egress hosts: its config then carries only those, and changes
   * to others never reach it. Absent: every service of the mesh (that its AccessPolicies let it call).
   */
  reachableServices: z.array(ZReachableService).max(1000).optional(),
  /**
   * App ports that carry raw TCP (`trellis proxy --tcp-port`). Announcing any makes the service a TCP service:
   * callers' sidecars then listen on 127.0.0.1 at the first of them and pass each connection through, over
   * mTLS, to this port on a workload of the service.
   */
  tcpPorts: z
    .array(z.number().int().min(1).max(65535))
    .max(16)
    .refine((ports) => new Set(ports).size === ports.length, "must not repeat a port")
    .optional(),
});
export type ProxyNode = z.infer<typeof ZProxyNode>;

/** `namespace/name` keys of the services a node may reach, or null when it did not say (all of them). */
export function reachableServiceKeys(node: {
  namespace: string;
  reachableServices?: readonly string[] | undefined;
}): string[] | null {
  if (node.reachableServices === undefined) return null;
  return [
    ...new Set(node.reachableServices.map((r) => (r.includes("/") ? r : `${node.namespace}/${r}`))),
  ].sort();
}

export const ZHelloMessage = z.object({
  type: z.literal("hello"),
  node: ZProxyNode,
  /** Sent on reconnect, so the registry keeps one entry per workload. */
  workloadId: z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/, "must be a workload id from a welcome")
    .optional(),
  /** PKCS#10 request (PEM) for this workload's certificate; the control plane decides the identity. */
  csr: z.string().min(100).max(16_384),
  /** The config version the proxy serves now, so an unchanged config is not sent again after a reconnect. */
  appliedVersion: z
    .string()
    .max(128)
    .regex(/^[\x21-\x7e]+$/, "must be a config version")
    .optional(),
  /** Protocol features this proxy supports; unknown ones are ignored, so old control planes keep working. */
  features: z
    .array(
      z
        .string()
        .max(32)
        .regex(/^[a-z0-9-]+$/, "must be a feature name"),
    )
    .max(16)
    .optional(),
});

/** Features a proxy may announce in its hello. */
/**
 * WebSocket close codes of the config stream (4000-4999 are the application's). A proxy stops on `revoked`,
 * `forbidden` and `helloRefused` (joining again the same way is refused again) and reconnects after the others:
 * a `conflict` (a TCP port another live service holds) may clear when that service goes, as may
 * `tooManyStreams` (its join token holds the most streams a replica allows) when one of them closes.
 */
export const STREAM_CLOSE = {
  protocol: 4400,
  revoked: 4401,
  forbidden: 4403,
  helloTimeout: 4408,
  conflict: 4409,
  tooManyStreams: 4429,
  helloRefused: 4422,
} as const;

/** The close reason of an evicted proxy (its join token was revoked); the proxy logs it and stops. */
export const REVOKED_REASON = "join token revoked";

export const STREAM_FEATURES = {
  /** The proxy applies `delta` messages (and answers `resync` when it cannot). */
  delta: "delta",
  /**
   * The proxy applies a delta's `services.endpoints` (edits of one service's endpoint list); with `delta` only,
   * a service whose endpoints changed is sent whole. See docs/decisions/019-join-storms.md.
   */
  endpointDelta: "endpoint-delta",
} as const;

/**
 * Codes of `error` messages a proxy acts on (the stream stays up). `renewalLimited`: a `csr` came sooner than
 * the control plane's renewal limit allows (a burst of 3, then one per minute or per half-lifetime if
 * shorter); nothing was signed, and the proxy asks again later.
 */
export const STREAM_ERRORS = {
  renewalLimited: "CERT_RENEWAL_LIMITED",
} as const;

export const ZAckMessage = z.object({
  type: z.literal("ack"),
  version: z.string().max(128),
  nonce: z.string().max(64),
});
export const ZNackMessage = z.object({
  type: z.literal("nack"),
  version: z.string().max(128),
  nonce: z.string().max(64),
  /** Why the proxy refused the config; shown to people. */
  error: z.string().max(4096),
});
/**
 * The proxy could not apply a delta (its base is not the config it holds): send the whole snapshot. Not a NACK:
 * nothing was wrong with the config, and the proxy keeps serving what it has.
 */
export const ZResyncMessage = z.object({
  type: z.literal("resync"),
  version: z.string().max(128),
  nonce: z.string().max(64),
  reason: z.string().max(1024),
});
export const ZCsrMessage = z.object({ type: z.literal("csr"), csr: z.string().min(100).max(16_384) });
/**
 * A telemetry report. Its series are checked one by one (`ZTelemetrySeries`) by the control plane, which keeps
 * the valid ones and tells the proxy how many it refused and why: one bad series costs that series, not the
 * report or the stream.
 */
export const ZTelemetryMessage = z.object({
  type: z.literal("telemetry"),
  intervalMs: z.number().int().positive().max(3_600_000),
  series: z.array(z.unknown()).max(TELEMETRY_LIMITS.seriesPerReport),
  /**
   * Access observations (`ZAccessObservation`), checked one by one like the series. Absent from proxies before
   * they were added: their callers are then suggested by identity only.
   */
  access: z.array(z.unknown()).max(ACCESS_LIMITS.observationsPerReport).optional(),
});

export const ZProxyMessage = z.discriminatedUnion("type", [
  ZHelloMessage,
  ZAckMessage,
  ZNackMessage,
  ZResyncMessage,
  ZCsrMessage,
  ZTelemetryMessage,
]);
export type ProxyMessage = z.infer<typeof ZProxyMessage>;
export type HelloMessage = z.infer<typeof ZHelloMessage>;
export type TelemetryMessage = z.infer<typeof ZTelemetryMessage>;

// ---------------------------------------------------------------------------------------------------------
// Control plane → proxy
// ---------------------------------------------------------------------------------------------------------

export const ZIssuedCertificate = z.object({
  /** The workload's certificate (PEM). */
  certPem: z.string(),
  /** The mesh CA (PEM): peers' certificates are verified against it. */
  caPem: z.string(),
  /** SPIFFE ID in the certificate's URI SAN. */
  spiffeId: z.string(),
  notAfter: z.iso.datetime(),
  serial: z.string(),
});
export type IssuedCertificate = z.infer<typeof ZIssuedCertificate>;

export const ZWelcomeMessage = z.object({
  type: z.literal("welcome"),
  workloadId: z.string(),
  certificate: ZIssuedCertificate,
  /** How often the proxy reports telemetry. */
  telemetryIntervalMs: z.number().int().positive(),
});
export const ZConfigMessage = z.object({
  type: z.literal("config"),
  version: z.string(),
  nonce: z.string(),
  /** A proxy config (see proxy-config.ts) without TLS material: the proxy adds its own key and certificate. */
  config: z.unknown(),
});
/**
 * An outbound service entry in a delta: a record (its keys kept in the order sent) that names its service; the
 * rest is validated with the whole config when it is applied.
 */
export const ZOutboundServiceRef = z
  .record(z.string(), z.unknown())
  .refine(
    (s) =>
      typeof s.namespace === "string" &&
      typeof s.name === "string" &&
      (s.port === undefined || (typeof s.port === "number" && Number.isInteger(s.port))),
    "an outbound service needs a namespace, a name and an integer port (or none)",
  );

/**
 * One splice of an endpoint list: at index `at` of the list as edited so far, `remove` endpoints are taken
 * out and `insert` put in their place (as `Array.prototype.splice`). Endpoints are validated with the whole
 * config when it is applied.
 */
export const ZEndpointEdit = z.object({
  at: z.number().int().min(0),
  remove: z.number().int().min(0).default(0),
  insert: z.array(z.unknown()).default([]),
});

/**
 * An outbound service of which only the endpoints changed (everything else in its entry is as the base has
 * it): the edits that turn the base's endpoint list into the new one, applied in order. Sent only to proxies
 * that announced `endpoint-delta`: a join adds one endpoint to every caller's config, and this sends that
 * endpoint instead of the service's whole entry.
 */
export const ZEndpointEdits = z.object({
  /** The service's key (`outboundServiceKey`). */
  service: z.string().max(512),
  edits: z.array(ZEndpointEdit),
});
export type EndpointEdits = z.infer<typeof ZEndpointEdits>;

/**
 * A snapshot as the changes from the one sent before (`base`). Applied to the config the proxy holds for
 * `base`, it gives exactly the config of `version` (see `applyConfigDelta`).
 */
export const ZDeltaMessage = z.object({
  type: z.literal("delta"),
  version: z.string(),
  nonce: z.string(),
  /** The version this delta applies to: the last config the control plane sent this proxy. */
  base: z.string(),
  /** Everything but `services`, when it changed: replaces all of it. Absent: unchanged. */
  config: z.record(z.string(), z.unknown()).optional(),
  services: z
    .object({
      /** Outbound services added or changed, whole (keyed by namespace, name and port). */
      put: z.array(ZOutboundServiceRef).default([]),
      /** Keys (`outboundServiceKey`) of outbound services removed. */
      remove: z.array(z.string()).default([]),
      /** Services whose endpoints alone changed (`endpoint-delta` only), applied after `put` and `remove`. */
      endpoints: z.array(ZEndpointEdits).default([]),
    })
    .default({ put: [], remove: [], endpoints: [] }),
});
export type DeltaMessage = z.infer<typeof ZDeltaMessage>;

export const ZCertificateMessage = z.object({
  type: z.literal("certificate"),
  certificate: ZIssuedCertificate,
});
export const ZErrorMessage = z.object({ type: z.literal("error"), code: z.string(), message: z.string() });

export const ZControlPlaneMessage = z.discriminatedUnion("type", [
  ZWelcomeMessage,
  ZConfigMessage,
  ZDeltaMessage,
  ZCertificateMessage,
  ZErrorMessage,
]);
export type ControlPlaneMessage = z.infer<typeof ZControlPlaneMessage>;
