import { z } from "zod";
import { ZNamespace, ZServiceName, ZVersion } from "./names.js";
import { ZIpv4 } from "./net.js";
import { formatIssues, zodIssues, type FieldIssue } from "./errors.js";
import { ZEditableHeaderName, ZHeaderName, ZHeaderValue } from "./http-fields.js";
import {
  DEFAULT_BASE_EJECTION_MS,
  DEFAULT_HEALTH_CHECK_INTERVAL_MS,
  DEFAULT_HEALTH_CHECK_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_ROUTE_TIMEOUT_MS,
  DESTINATION_POLICY_DEFAULTS,
} from "./resources/defaults.js";

const CB = DESTINATION_POLICY_DEFAULTS.circuitBreaker;
const OD = DESTINATION_POLICY_DEFAULTS.outlierDetection;
const HC = DESTINATION_POLICY_DEFAULTS.healthCheck;

/**
 * The whole configuration of one sidecar proxy: one consistent, versioned snapshot. The same schema parses the
 * static `trellis proxy --config FILE` (JSON or YAML) and what the control plane streams to a proxy.
 *
 * Shaped after Envoy's concepts, kept small: listeners, outbound services (clusters + routes), per-destination
 * policy, inbound policy, TLS material, telemetry. All durations are milliseconds.
 *
 * When to edit this file: when the data plane learns a new feature. Add the field with a doc comment and a
 * default that keeps old configs meaning what they meant.
 */

const ZPort = z.number().int().min(0).max(65535);
const ZMs = z.number().int().min(0).max(3_600_000);
const ZPercent = z.number().min(0).max(100);
const ZStatus = z.number().int().min(100).max(599);
/** `host:port` (IPv6 hosts in brackets: `[::1]:8080`). */
export const ZHostPort = z
  .string()
  .refine(
    (s) =>
      /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(s) &&
      Number(s.slice(s.lastIndexOf(":") + 1)) <= 65535,
    "must be host:port with a port up to 65535",
  );

/** A regular expression given as a string; rejected at validation time when it does not compile. */
const ZRegex = z.string().refine((s) => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}, "must be a valid regular expression");

/** Where a listener binds. */
export const ZListenerAddress = z.object({
  /** Interface to bind, e.g. `127.0.0.1` or `0.0.0.0`. */
  address: z.string().min(1),
  /** TCP port; 0 picks a free one (tests). */
  port: ZPort,
});

/**
 * Where the proxy's listeners bind when the config or the command line does not say. The proxy applies them and
 * the CLI offers them as its flags' defaults (without loading the proxy for `--help`).
 */
export const DEFAULT_LISTENERS = {
  outbound: { address: "127.0.0.1", port: 15001 },
  inbound: { address: "0.0.0.0", port: 15006 },
  admin: { address: "127.0.0.1", port: 15000 },
} as const satisfies Required<ProxyListeners>;

/** The control plane's default port, for the proxies' mesh stream and the CLI's flags. */
export const DEFAULT_CONTROL_PLANE_PORT = 15010;

/**
 * The proxy's three listeners. Absent ones get their default address (inbound only when `inbound` is configured).
 * Listeners cannot move while the proxy runs: a config that moves one is rejected.
 */
export const ZListeners = z.object({
  /** Where the local app sends its outbound calls (HTTP proxy or `Host:` header). Default: DEFAULT_LISTENERS.outbound. */
  outbound: ZListenerAddress.optional(),
  /** Where other sidecars reach this workload over mTLS. Default: DEFAULT_LISTENERS.inbound. */
  inbound: ZListenerAddress.optional(),
  /** Admin endpoints: /ready, /stats/prometheus, /config_dump, /clusters. Default: DEFAULT_LISTENERS.admin. */
  admin: ZListenerAddress.optional(),
});

/** Who this proxy speaks for. Its certificate's SPIFFE ID is `spiffe://<trustDomain>/ns/<namespace>/sa/<service>`. */
export const ZProxyIdentity = z.object({
  /** Namespace of the workload. */
  namespace: ZNamespace,
  /** Service the workload belongs to. */
  service: ZServiceName,
  /** Version label of this workload (`v1`, `canary`), used in telemetry and for weighted splits. */
  version: ZVersion,
  /** SPIFFE trust domain of the mesh, e.g. `trellis.local`. */
  trustDomain: z
    .string()
    .min(1)
    .regex(/^[a-z0-9.-]+$/, "must be lowercase letters, digits, '.' and '-'"),
});

/** Matches a string exactly, by prefix or by regular expression. Exactly one of the three. */
export const ZStringMatch = z.union([
  z.object({ /** The whole value must equal this. */ exact: z.string() }).strict(),
  z.object({ /** The value must start with this. */ prefix: z.string() }).strict(),
  z
    .object({
      /** The value must match this regular expression (anchored by the author if needed). */ regex: ZRegex,
    })
    .strict(),
]);

/** Matches one header (or query parameter) by name. */
export const ZKeyMatch = z.object({
  /** Header name (case-insensitive) or query parameter name (case-sensitive). */
  name: z.string().min(1),
  /** How the value must match; absent means "must be present". */
  value: ZStringMatch.optional(),
  /** Invert the match: the header must be absent or not match. */
  invert: z.boolean().default(false),
});

/** When a route applies. All given conditions must hold; an empty match matches everything. */
export const ZRouteMatch = z.object({
  /** Request path (without query). */
  path: ZStringMatch.optional(),
  /** Allowed methods, upper case; absent means any. */
  methods: z
    .array(z.string().regex(/^[A-Z]+$/, "must be an upper-case HTTP method"))
    .min(1)
    .optional(),
  /** Header conditions, all must hold. */
  headers: z.array(ZKeyMatch.extend({ name: ZHeaderName })).default([]),
  /** Query parameter conditions, all must hold. */
  query: z.array(ZKeyMatch).default([]),
});

/** One weighted backend of a route: a version subset of the service's endpoints. */
export const ZRouteBackend = z.object({
  /** Endpoint version this backend sends to; absent means every endpoint of the service. */
  version: ZVersion.optional(),
  /** Relative weight among the route's backends; 0 sends nothing. */
  weight: z.number().int().min(0).max(10_000).default(1),
});

/**
 * Retry policy for one route. Conservative by default: idempotent methods only, and a request body is replayed
 * only when it is small (`maxReplayBodyBytes`).
 */
export const ZRetryPolicy = z.object({
  /** Retries after the first try (so `attempts: 2` means up to 3 tries). */
  attempts: z.number().int().min(0).max(10).default(2),
  /** Time limit for each try until response headers; 0 means only the route timeout applies. */
  perTryTimeoutMs: ZMs.default(0),
  /** Which failures are retried. `5xx` covers 5xx responses, resets and connect failures. */
  retryOn: z
    .array(z.enum(["5xx", "gateway-error", "connect-failure", "reset", "retriable-status-codes"]))
    .default(["connect-failure", "reset", "5xx"]),
  /** Status codes retried when `retryOn` includes `retriable-status-codes`. */
  retriableStatusCodes: z.array(ZStatus).default([]),
  /** Also retry non-idempotent methods (POST, PATCH). Their bodies are replayed as any other (see below). */
  retryNonIdempotent: z.boolean().default(false),
  /**
   * Largest request body a retry replays. The proxy keeps a copy of the body while the first try streams it
   * (the try does not wait for it); a body that grows past this is no longer copied, and the request is tried
   * once whatever the outcome. 0: a request with a body is never retried. The copy is memory held per request
   * in flight, so the default is linkerd2-proxy's 64 KiB rather than Envoy's 1 MiB per-request buffer: a sidecar
   * with a thousand uploads in flight holds 64 MiB at most, not a GiB. At most 16 MiB.
   */
  maxReplayBodyBytes: z.number().int().min(0).max(16_777_216).default(65_536),
  /** First backoff; each retry doubles it, with full jitter. */
  backoffBaseMs: ZMs.default(25),
  /** Longest backoff. */
  backoffMaxMs: ZMs.default(250),
  /** Retry budget: retries in flight may be at most this percent of requests in flight... */
  budgetPercent: ZPercent.default(20),
  /** ...but at least this many concurrent retries are always allowed. */
  budgetMinConcurrent: z.number().int().min(0).default(3),
});

/** Fault injection, for testing resilience. Percentages are of requests on the route. */
export const ZFault = z.object({
  /** Delay some requests before they are forwarded. */
  delay: z
    .object({ /** Share of requests delayed. */ percent: ZPercent, /** How long. */ ms: ZMs })
    .optional(),
  /** Answer some requests locally with an error status. */
  abort: z
    .object({ /** Share of requests aborted. */ percent: ZPercent, /** Status returned. */ status: ZStatus })
    .optional(),
});

/**
 * Header edits. Names are case-insensitive. Names and values are checked as the Route resource checks them
 * (http-fields.ts): a config whose edit Node would refuse to send is refused here (NACKed), rather than
 * turning every request of the route into a 502.
 */
export const ZHeaderEdits = z.object({
  /** Headers set (replacing any present). */
  set: z.record(ZEditableHeaderName, ZHeaderValue).default({}),
  /** Headers appended. */
  add: z.record(ZEditableHeaderName, ZHeaderValue).default({}),
  /** Headers removed. */
  remove: z.array(ZEditableHeaderName).default([]),
});

/** Local token-bucket rate limit; excess requests get 429. */
export const ZRateLimit = z.object({
  /** Sustained rate. */
  requestsPerSecond: z.number().positive().max(1_000_000),
  /** Bucket size: how many requests may arrive at once. Defaults to one second's worth. */
  burst: z.number().int().positive().optional(),
  /** One bucket per caller identity (inbound) instead of one shared bucket. */
  perCaller: z.boolean().default(false),
});

/** One route of an outbound service: first matching route wins. */
export const ZRoute = z.object({
  /** Name, for telemetry and config dumps. */
  name: z.string().min(1).optional(),
  /** When the route applies. */
  match: ZRouteMatch.default({ headers: [], query: [] }),
  /** Weighted backends (canary split). Absent: all endpoints. */
  backends: z.array(ZRouteBackend).min(1).optional(),
  /** Overall time limit for the request until response headers, retries included. 0: none. */
  timeoutMs: ZMs.default(DEFAULT_ROUTE_TIMEOUT_MS),
  /** Retry policy; absent means no retries. */
  retries: ZRetryPolicy.optional(),
  /** Fault injection. */
  fault: ZFault.optional(),
  /** Edits to the request before it is forwarded. */
  requestHeaders: ZHeaderEdits.optional(),
  /** Edits to the response before it is returned. */
  responseHeaders: ZHeaderEdits.optional(),
  /** Local rate limit for this route. */
  rateLimit: ZRateLimit.optional(),
});

/** One endpoint of a service: normally the inbound listener of a sidecar. */
export const ZEndpoint = z.object({
  /** `host:port` to connect to. */
  address: ZHostPort,
  /** Version label of the workload behind it. */
  version: ZVersion.default("v1"),
  /** Relative load-balancing weight. */
  weight: z.number().int().min(1).max(1000).default(1),
  /** Free-form labels, kept for config dumps and future subsets. */
  labels: z.record(z.string(), z.string()).default({}),
});

/** How a destination's endpoints are chosen. */
export const ZLoadBalancer = z.discriminatedUnion("type", [
  z.object({ /** Weighted round robin. */ type: z.literal("roundRobin") }),
  z.object({ /** Power of two choices on in-flight requests, weighted. */ type: z.literal("leastRequest") }),
  z.object({
    /** Consistent hash: the same header value goes to the same endpoint. */
    type: z.literal("ringHash"),
    /** Header whose value is hashed; requests without it are spread at random. */
    header: ZHeaderName,
  }),
]);

/** Limits that shed load early instead of queueing it (answered 503 `DP_CIRCUIT_OPEN`). */
export const ZCircuitBreaker = z.object({
  /** Connections to the whole destination. */
  maxConnections: z.number().int().positive().default(CB.maxConnections),
  /** Requests waiting for a connection. */
  maxPending: z.number().int().min(0).default(CB.maxPendingRequests),
  /** Requests in flight to the destination. */
  maxRequests: z.number().int().positive().default(CB.maxRequests),
});

/** Passive health: endpoints that fail repeatedly are taken out of rotation for a while. */
export const ZOutlierDetection = z.object({
  /** Eject after this many 5xx responses in a row. 0 disables. */
  consecutive5xx: z.number().int().min(0).default(OD.consecutive5xx),
  /** Eject after this many connect failures / resets / timeouts in a row. 0 disables. */
  consecutiveGatewayFailures: z.number().int().min(0).default(OD.consecutiveGatewayErrors),
  /** First ejection time; each further ejection of the same endpoint lasts longer. */
  baseEjectionMs: ZMs.default(DEFAULT_BASE_EJECTION_MS),
  /** At most this share of a destination's endpoints is ejected at once. */
  maxEjectionPercent: ZPercent.default(OD.maxEjectionPercent),
});

/** Active health checks: the proxy probes every endpoint. */
export const ZHealthCheck = z.object({
  /** Path requested with GET; any 2xx is healthy. */
  path: z.string().startsWith("/").default(HC.path),
  /** Time between probes. */
  intervalMs: z.number().int().min(50).default(DEFAULT_HEALTH_CHECK_INTERVAL_MS),
  /** Probe time limit. */
  timeoutMs: z.number().int().min(10).default(DEFAULT_HEALTH_CHECK_TIMEOUT_MS),
  /** Failures in a row before an endpoint is marked unhealthy. */
  unhealthyThreshold: z.number().int().min(1).default(HC.unhealthyThreshold),
  /** Successes in a row before it is healthy again. */
  healthyThreshold: z.number().int().min(1).default(HC.healthyThreshold),
});

/** Policy for one destination, whatever route led there. */
export const ZDestinationPolicy = z.object({
  /** Endpoint choice. */
  loadBalancer: ZLoadBalancer.default({ type: "roundRobin" }),
  /** Connection and request limits. */
  circuitBreaker: ZCircuitBreaker.optional(),
  /** Passive ejection of failing endpoints. */
  outlierDetection: ZOutlierDetection.optional(),
  /** Local rate limit for all requests to this destination. */
  rateLimit: ZRateLimit.optional(),
  /** Active health checks. */
  healthCheck: ZHealthCheck.optional(),
  /** Idle time before a pooled upstream connection is closed. */
  idleTimeoutMs: ZMs.default(DEFAULT_IDLE_TIMEOUT_MS),
});

/**
 * How a workload's app speaks HTTP: HTTP/1.1, or HTTP/2 with prior knowledge (h2c, as gRPC servers do). An
 * HTTP/1.1 app takes HTTP/2 callers too (the proxy translates); an h2c app takes HTTP/1.1 callers too.
 */
export const ZAppProtocol = z.enum(["http1", "h2c"]);
export type AppProtocol = z.infer<typeof ZAppProtocol>;

/** What a sidecar does with captured traffic to destinations outside the mesh's registry. */
export const ZOutboundTrafficPolicy = z.enum(["allowAny", "registryOnly"]);
export type OutboundTrafficPolicy = z.infer<typeof ZOutboundTrafficPolicy>;

/** A service this workload calls. */
export const ZOutboundService = z.object({
  /** Service name; `Host: <name>` (and `<name>.<namespace>`) reach it. */
  name: ZServiceName,
  /** Namespace of the service. */
  namespace: ZNamespace,
  /** `http` is routed per request; `tcp` is passed through byte for byte. */
  protocol: z.enum(["http", "tcp"]).default("http"),
  /** Service port as the app addresses it (`reviews:9080`). For `tcp`, the local outbound port the proxy opens. */
  port: ZPort.default(80),
  /** `tcp` only: the app's port on the destination workload (it must be in that workload's `inbound.tcpPorts`). Default: `port`. */
  targetPort: ZPort.optional(),
  /** More host names that reach this service; `*` makes it the catch-all. */
  hosts: z.array(z.string().min(1)).default([]),
  /**
   * The service's virtual IP, allocated by the control plane: a captured connection dialled to it is this
   * service's, and the sidecar's DNS answers the service's names with it. Absent: none (static configs).
   */
  vip: ZIpv4.optional(),
  /** Connect to endpoints over mTLS (sidecar to sidecar). false: plain TCP to the endpoints (no sidecar there). */
  mtls: z.boolean().default(true),
  /**
   * How the endpoints speak when `mtls` is false (an app with no sidecar): every request goes to them in this
   * protocol, whatever the caller spoke. Ignored with mTLS: between sidecars, HTTP/2 requests travel over h2
   * and HTTP/1.1 requests over HTTP/1.1 (ALPN).
   */
  appProtocol: ZAppProtocol.default("http1"),
  /** Where the service runs. */
  endpoints: z.array(ZEndpoint).default([]),
  /** Routes, first match wins. Absent or empty: one route to all endpoints. */
  routes: z.array(ZRoute).default([]),
  /** Destination policy. */
  policy: ZDestinationPolicy.default({
    loadBalancer: { type: "roundRobin" },
    idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
  }),
});

/**
 * Who may call this workload. Deny rules win over allow rules; with no allow rule, everything not denied is allowed.
 * The same rules judge raw TCP connections (`inbound.tcpPorts`) by caller alone, failing closed: an allow rule
 * with `methods` or `paths` matches no connection, a deny rule with them applies on `from` alone. A refused
 * connection is closed after the handshake and recorded as code 403 under protocol `tcp`.
 */
export const ZAuthorizationRule = z.object({
  /** Allow or deny what matches. */
  action: z.enum(["allow", "deny"]),
  /** Caller conditions (any of the listed identities, namespaces or services). Absent: any caller, even without mTLS. */
  from: z
    .object({
      /** Full SPIFFE IDs, e.g. `spiffe://trellis.local/ns/shop/sa/web`. */
      identities: z.array(z.string()).default([]),
      /** Caller namespaces. */
      namespaces: z.array(ZNamespace).default([]),
      /** Caller services (any namespace unless `namespaces` also given). */
      services: z.array(ZServiceName).default([]),
    })
    .optional(),
  /** Methods; absent means any. */
  methods: z.array(z.string()).optional(),
  /** Paths: exact, or a prefix when ending in `*`. Absent means any. */
  paths: z.array(z.string()).optional(),
});

/** How this workload is reached. */
export const ZInbound = z.object({
  /** Port of the local app. */
  appPort: ZPort,
  /** Address of the local app. */
  appAddress: z.string().default("127.0.0.1"),
  /** How the app speaks: HTTP/1.1, or HTTP/2 with prior knowledge (gRPC servers). */
  appProtocol: ZAppProtocol.default("http1"),
  /** Local app ports that callers may reach with raw TCP passthrough (over mTLS). */
  tcpPorts: z.array(ZPort).default([]),
  /** `strict`: mTLS only. `permissive`: mTLS or plain text (for migrations). */
  mtlsMode: z.enum(["strict", "permissive"]).default("strict"),
  /** Access rules (deny wins), for HTTP requests and TCP connections alike (see ZAuthorizationRule). */
  authorization: z.array(ZAuthorizationRule).default([]),
  /** Rate limit for requests to the app. */
  rateLimit: ZRateLimit.optional(),
  /** Time limit until the app's response headers. 0: none. */
  timeoutMs: ZMs.default(60_000),
});

/** Certificate material: PEM inline, or file paths read when the config is applied. */
export const ZTlsMaterial = z
  .object({
    /** This workload's certificate chain (PEM). */
    certPem: z.string().optional(),
    /** Its private key (PEM). */
    keyPem: z.string().optional(),
    /** The mesh CA bundle (PEM) that peers are verified against. */
    caPem: z.string().optional(),
    /** Path of the certificate chain, instead of `certPem`. */
    certFile: z.string().optional(),
    /** Path of the key, instead of `keyPem`. */
    keyFile: z.string().optional(),
    /** Path of the CA bundle, instead of `caPem`. */
    caFile: z.string().optional(),
  })
  .superRefine((t, ctx) => {
    for (const k of ["cert", "key", "ca"] as const) {
      const pem = t[`${k}Pem`];
      const file = t[`${k}File`];
      if (pem === undefined && file === undefined)
        ctx.addIssue({ code: "custom", path: [`${k}Pem`], message: `${k}Pem or ${k}File is required` });
      if (pem !== undefined && file !== undefined)
        ctx.addIssue({ code: "custom", path: [`${k}File`], message: `give ${k}Pem or ${k}File, not both` });
    }
  });

/**
 * A workload certificate the mesh CA issued that peers must no longer accept: the proxy it was issued to
 * joined with a join token that was revoked, and was evicted. The CA's certificates live 24 h; until then the
 * control plane lists each revoked one in every proxy's config, and sidecars refuse a peer presenting it:
 * inbound, the caller's connection is closed; outbound, the upstream is not sent to. Entries leave the list
 * once the certificate has expired.
 */
export const ZRevokedCertificate = z.object({
  /** Serial number, hex (case and leading zeros do not matter). */
  serial: z
    .string()
    .regex(/^[0-9a-fA-F]{1,64}$/, "must be a hex serial number")
    .transform((s) => s.toLowerCase().replace(/^0+(?=.)/, "")),
  /** The certificate's notAfter (ISO 8601): after it the entry is pointless and is dropped. */
  expiresAt: z.iso.datetime({ offset: true }),
});

/** What the proxy reports. Metrics are always on (they cost little); the access log is opt-in. */
export const ZTelemetry = z.object({
  /** One JSON line per request on stdout. */
  accessLog: z.boolean().default(false),
});

/**
 * Distributed tracing: the proxy records a span per request it carries (a server span inbound, a client span
 * outbound) for the traces it samples, and exports them over OTLP/HTTP (protobuf), batched, from a bounded
 * queue: when the collector is slow or gone, spans are dropped and counted (`trellis_tracing_spans_dropped_total`),
 * never waited for. Absent: no spans are recorded (trace context is still propagated).
 */
export const ZTracing = z.object({
  /**
   * Percent of new traces to sample, 0–100. A request that arrives with a `traceparent` keeps its caller's
   * decision (the sampled flag), so a trace is recorded by every hop or by none.
   */
  samplingPercent: z.number().min(0).max(100),
  /**
   * An OTLP/HTTP traces endpoint (`http(s)://collector:4318/v1/traces`), to which spans are POSTed. A proxy in
   * the mesh is sent a config without one and fills in its control plane's trace intake (`/v1/traces` on the
   * replica it is joined to, with `workloadCertificate`); a config without an endpoint records no spans (but
   * still decides sampling, so the flag it passes on is right).
   */
  endpoint: z
    .string()
    .max(2048)
    .refine((u) => /^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(u) && URL.canParse(u), {
      message: "must be an http:// or https:// URL without query or fragment",
    })
    .optional(),
  /**
   * POST with the workload certificate (`tls`) as the client certificate and trust only the mesh CA: how a proxy
   * in the mesh reaches the control plane's intake, which names the spans' workload by that certificate.
   */
  workloadCertificate: z.boolean().default(false),
  /** Spans waiting to be sent; past this, new spans are dropped (and counted). */
  maxQueuedSpans: z.number().int().min(1).max(100_000).default(2048),
  /** Spans per export request. */
  maxBatchSpans: z.number().int().min(1).max(10_000).default(512),
  /** A batch goes out when full or this long after its first span. */
  flushIntervalMs: z.number().int().min(10).max(60_000).default(1_000),
  /** Time limit of one export request; a batch that fails is dropped, not retried (it would only grow the queue). */
  exportTimeoutMs: z.number().int().min(100).max(60_000).default(5_000),
});
export type Tracing = z.infer<typeof ZTracing>;

/**
 * Protection against slow or hostile clients on every listener. Built into the listeners when they start, so
 * a running proxy refuses a config whose limits differ (restart it to change them), as it refuses a listener
 * move.
 */
export const ZLimits = z.object({
  /** Largest request head (request line + headers), bytes. */
  maxHeaderBytes: z.number().int().min(1024).max(1_048_576).default(16_384),
  /** Most headers in a request. */
  maxHeaders: z.number().int().min(8).max(1000).default(100),
  /** Time a client has to send the whole request head. */
  headersTimeoutMs: z.number().int().min(100).default(10_000),
  /** Time a client has to send the whole request. 0: none (streams). */
  requestTimeoutMs: ZMs.default(300_000),
  /** Idle keep-alive connections are closed after this. */
  keepAliveTimeoutMs: ZMs.default(65_000),
  /**
   * A response body that moves no byte for this long is cut (the client sees a reset stream or a closed
   * connection; recorded as an error). Envoy's stream_idle_timeout default; long-lived streams that may be
   * silent longer (a gRPC watch) need more, or 0: none.
   */
  streamIdleTimeoutMs: ZMs.default(300_000),
});

export const ZProxyConfig = z
  .object({
    /** Version of this snapshot. Compared for equality only; shown by /config_dump. */
    version: z.string().min(1).max(200),
    /** The workload this proxy speaks for. */
    identity: ZProxyIdentity,
    /** Listener addresses. */
    listeners: ZListeners.default({}),
    /** Services the app may call. */
    services: z.array(ZOutboundService).default([]),
    /**
     * Captured connections to destinations that are no service of the mesh: `allowAny` (default) passes them
     * through to where they were dialled; `registryOnly` refuses them (counted under destination `unknown`).
     */
    outboundTrafficPolicy: ZOutboundTrafficPolicy.default("allowAny"),
    /** How this workload is reached; absent: no inbound traffic accepted. */
    inbound: ZInbound.optional(),
    /** The workload's certificate, key and mesh CA. Required when any mTLS is used. */
    tls: ZTlsMaterial.optional(),
    /** Peer certificates to refuse though the mesh CA signed them (see `ZRevokedCertificate`). Absent: none. */
    revokedCertificates: z.array(ZRevokedCertificate).max(100_000).optional(),
    /** Metrics and logs. */
    telemetry: ZTelemetry.default({ accessLog: false }),
    /** Spans of sampled traces, exported over OTLP. Absent: none recorded. */
    tracing: ZTracing.optional(),
    /** Client limits. */
    limits: ZLimits.default({
      maxHeaderBytes: 16_384,
      maxHeaders: 100,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 300_000,
      keepAliveTimeoutMs: 65_000,
      streamIdleTimeoutMs: 300_000,
    }),
  })
  .superRefine((cfg, ctx) => {
    // Cross-field rules that a per-field schema cannot say.
    const seen = new Map<string, number>();
    const tcpPorts = new Map<number, number>();
    const vips = new Map<string, { i: number; name: string }>();
    cfg.services.forEach((svc, i) => {
      // A VIP names one service (its ports may be several entries): captured connections go by it.
      if (svc.vip !== undefined) {
        const name = `${svc.namespace}/${svc.name}`;
        const prev = vips.get(svc.vip);
        if (prev !== undefined && prev.name !== name)
          ctx.addIssue({
            code: "custom",
            path: ["services", i, "vip"],
            message: `${svc.vip} is services[${prev.i}]'s (${prev.name})`,
          });
        else vips.set(svc.vip, { i, name });
      }
      // A TCP service is one local listener on its port: a second one there would take the first one's calls.
      if (svc.protocol === "tcp") {
        const prev = tcpPorts.get(svc.port);
        if (prev !== undefined)
          ctx.addIssue({
            code: "custom",
            path: ["services", i, "port"],
            message: `tcp port ${svc.port} is services[${prev}]'s`,
          });
        else tcpPorts.set(svc.port, i);
      }
      // One service may expose an HTTP port and TCP ports; the same name and port twice is a mistake.
      const key = `${svc.namespace}/${svc.name}:${svc.port}`;
      const prev = seen.get(key);
      if (prev !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["services", i, "name"],
          message: `duplicates services[${prev}]`,
        });
      seen.set(key, i);
      if (svc.mtls && svc.endpoints.length > 0 && cfg.tls === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["services", i, "mtls"],
          message: "mtls needs tls material (config.tls)",
        });
      }
      if (svc.protocol === "tcp" && svc.routes.length > 0) {
        ctx.addIssue({
          code: "custom",
          path: ["services", i, "routes"],
          message: "tcp services have no routes",
        });
      }
      const versions = new Set(svc.endpoints.map((e) => e.version));
      svc.routes.forEach((r, j) => {
        if (!r.backends) return;
        if (r.backends.every((b) => b.weight === 0)) {
          ctx.addIssue({
            code: "custom",
            path: ["services", i, "routes", j, "backends"],
            message: "at least one backend needs a weight above 0",
          });
        }
        r.backends.forEach((b, k) => {
          if (b.version !== undefined && b.weight > 0 && !versions.has(b.version)) {
            ctx.addIssue({
              code: "custom",
              path: ["services", i, "routes", j, "backends", k, "version"],
              message: `no endpoint has version ${b.version}`,
            });
          }
        });
        if (r.retries && r.retries.backoffMaxMs < r.retries.backoffBaseMs) {
          ctx.addIssue({
            code: "custom",
            path: ["services", i, "routes", j, "retries", "backoffMaxMs"],
            message: "must be at least backoffBaseMs",
          });
        }
      });
    });
    if (cfg.inbound && cfg.inbound.mtlsMode === "strict" && cfg.tls === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["inbound", "mtlsMode"],
        message: "strict mTLS needs tls material (config.tls)",
      });
    }
    if (cfg.tracing?.workloadCertificate && cfg.tls === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["tracing", "workloadCertificate"],
        message: "needs tls material (config.tls)",
      });
    }
  });

/** The proxy config as written (defaults optional). */
export type ProxyConfigInput = z.input<typeof ZProxyConfig>;
/** The proxy config after parsing (defaults filled in). */
export type ProxyConfig = z.output<typeof ZProxyConfig>;
export type ProxyIdentity = z.infer<typeof ZProxyIdentity>;
export type ProxyListeners = z.infer<typeof ZListeners>;
export type ListenerAddress = z.infer<typeof ZListenerAddress>;
export type StringMatch = z.infer<typeof ZStringMatch>;
export type KeyMatch = z.infer<typeof ZKeyMatch>;
export type RouteMatch = z.infer<typeof ZRouteMatch>;
export type RouteBackend = z.infer<typeof ZRouteBackend>;
export type RetryPolicy = z.infer<typeof ZRetryPolicy>;
export type Fault = z.infer<typeof ZFault>;
export type HeaderEdits = z.infer<typeof ZHeaderEdits>;
export type RateLimit = z.infer<typeof ZRateLimit>;
export type Route = z.infer<typeof ZRoute>;
export type Endpoint = z.infer<typeof ZEndpoint>;
export type LoadBalancer = z.infer<typeof ZLoadBalancer>;
export type CircuitBreaker = z.infer<typeof ZCircuitBreaker>;
export type OutlierDetection = z.infer<typeof ZOutlierDetection>;
export type HealthCheck = z.infer<typeof ZHealthCheck>;
export type DestinationPolicy = z.infer<typeof ZDestinationPolicy>;
export type OutboundService = z.infer<typeof ZOutboundService>;
export type AuthorizationRule = z.infer<typeof ZAuthorizationRule>;
export type Inbound = z.infer<typeof ZInbound>;
export type TlsMaterial = z.infer<typeof ZTlsMaterial>;
export type RevokedCertificate = z.infer<typeof ZRevokedCertificate>;
export type Telemetry = z.infer<typeof ZTelemetry>;
export type Limits = z.infer<typeof ZLimits>;

export type ProxyConfigResult = { ok: true; config: ProxyConfig } | { ok: false; issues: FieldIssue[] };

/**
 * Validates a proxy config, reporting each problem with the path users write:
 * `services[0].routes[1].backends[0].weight: must be at least 0`.
 */
export function validateProxyConfig(input: unknown): ProxyConfigResult {
  const r = ZProxyConfig.safeParse(input);
  if (r.success) return { ok: true, config: r.data };
  return { ok: false, issues: zodIssues(r.error) };
}

/** One line per issue, for logs and NACKs. */
export function formatProxyConfigIssues(issues: readonly FieldIssue[]): string {
  return formatIssues(issues);
}
