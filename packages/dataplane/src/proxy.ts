// The running sidecar: binds the listeners, holds the snapshot in force, swaps it when a valid config arrives,
// and drains gracefully on close. When to edit: a new listener kind, or a change to the config lifecycle.
import net, { type AddressInfo, type Socket } from "node:net";
import type http from "node:http";
import type { Http2Server, ServerHttp2Session } from "node:http2";
import {
  DEFAULT_LISTENERS,
  formatProxyConfigIssues,
  validateProxyConfig,
  type Limits,
  type ListenerAddress,
  type ProxyConfig,
  type ProxyListeners,
} from "@trellis/contracts/proxy";
import { TRAFFIC_PROTOCOLS, type AccessObservation, type TelemetrySeries } from "@trellis/contracts/proxy";
import { buildSnapshot, type Snapshot } from "./config/snapshot.js";
import { EndpointRegistry } from "./cluster/registry.js";
import { labelPairs, Metrics, type RequestSeries, type Sample } from "./telemetry/metrics.js";
import { SpanExporter } from "./telemetry/span-exporter.js";
import { percentSampler, SAMPLE_ALL, type Sampler } from "./telemetry/trace.js";
import type { Attributes } from "@trellis/contracts/otlp";
import { createH2, createHttp1 } from "./listener/servers.js";
import { outboundHandler } from "./listener/outbound.js";
import { acceptInbound, inboundHandler, InboundTls } from "./listener/inbound.js";
import type { TlsState } from "./tls/material.js";
import { createAdmin } from "./listener/admin.js";
import type { ProxyCore } from "./listener/core.js";
import type { AccessLogSink } from "./listener/edge.js";
import { startTcpServices, type TcpServices } from "./listener/tcp.js";
import { sniff } from "./listener/sniff.js";
import { startDnsServer, type DnsOutcome, type DnsServer, type Upstream } from "./dns/server.js";
import { acceptCaptured, acceptCapturedInbound } from "./listener/captured.js";
import { captureAddonError, originalDst } from "./capture/original-dst.js";

// Defined in contracts, shared with the CLI's flags; re-exported as part of this package's API.
export { DEFAULT_LISTENERS };

export interface StartProxyOptions {
  /** The initial config (validated here; startProxy rejects with the reasons when it is invalid). */
  config: unknown;
  /**
   * Listener addresses, overriding the config's. A listener is bound at the first of: this option, the config,
   * the default (inbound only when the config has an `inbound` section). `null` turns a listener off.
   */
  listeners?: {
    outbound?: ListenerAddress | null;
    inbound?: ListenerAddress | null;
    admin?: ListenerAddress | null;
  };
  /** Where access log lines go when the config turns the access log on. Default: stdout. */
  accessLog?: AccessLogSink;
  /** Operational messages (config applied/rejected). Default: stderr. */
  log?: (line: string) => void;
  /** Longest a graceful close waits for requests in flight before cutting connections. Default 10 s. */
  drainTimeoutMs?: number;
  /**
   * Transparent capture is installed in this network namespace (capture/install.ts): the outbound listener
   * reads where each connection was dialled and routes by it (listener/captured.ts). Needs the capture addon.
   */
  capture?: boolean;
  /**
   * Serve DNS here (UDP and TCP): the mesh's service names answer with their VIPs, other names go to `upstreams`
   * (dns/server.ts). A pod's resolv.conf points at it. Absent: no DNS.
   */
  dns?: { address: string; port: number; upstreams: readonly Upstream[] };
}

export type ApplyResult = { ok: true; version: string } | { ok: false; error: string };

export interface BoundAddress {
  host: string;
  port: number;
}

export interface ProxyHandle {
  /** Where each listener is bound (null: not started). */
  readonly addresses: {
    outbound: BoundAddress | null;
    inbound: BoundAddress | null;
    admin: BoundAddress | null;
    /** The DNS server (UDP and TCP on this address), when `dns` was asked for. */
    dns?: BoundAddress;
  };
  /** Validates and puts a new config in force. A rejected config changes nothing. Never throws. */
  applyConfig(config: unknown): ApplyResult;
  /** Version of the config in force. */
  currentVersion(): string;
  /** Request telemetry since the last call (deltas), in the layout the control plane stores. */
  drainTelemetry(): TelemetrySeries[];
  /** Inbound requests by caller, method and path prefix since the last call (telemetry/access.ts). */
  drainAccess(): AccessObservation[];
  /** Stops accepting, lets requests in flight finish (up to drainTimeoutMs), then closes everything. */
  close(): Promise<void>;
}

export class ProxyStartError extends Error {
  override readonly name = "ProxyStartError";
}

/** The `listener` label of each listener's connections, made once: `track` runs per connection. */
const LISTENER_LABELS = {
  outbound: labelPairs({ listener: "outbound" }),
  inbound: labelPairs({ listener: "inbound" }),
  admin: labelPairs({ listener: "admin" }),
  tcp: labelPairs({ listener: "tcp" }),
} as const;

class Proxy implements ProxyCore {
  snapshot!: Snapshot;
  readonly metrics = new Metrics();
  draining = false;
  accessLog: AccessLogSink | null = null;
  sampler: Sampler = SAMPLE_ALL;
  spans: SpanExporter | null = null;
  private readonly unknown: RequestSeries[];
  private readonly registry = new EndpointRegistry();
  private rejection: { version: string; error: string; at: string } | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly h2Sessions = new Set<ServerHttp2Session>();
  readonly http1Servers: http.Server[] = [];
  readonly netServers: net.Server[] = [];
  tcp: TcpServices | null = null;
  dns: DnsServer | null = null;
  /** The inbound TLS server, when there is an inbound listener. */
  inboundTls: InboundTls | null = null;
  /** Listener addresses in use; a config may repeat them but not move them. */
  readonly bound: ProxyListeners = {};

  constructor(
    private readonly opts: StartProxyOptions,
    config: ProxyConfig,
  ) {
    const self = {
      namespace: config.identity.namespace,
      service: config.identity.service,
      version: config.identity.version,
    };
    const nobody = { namespace: "unknown", service: "unknown", version: "unknown" };
    this.unknown = TRAFFIC_PROTOCOLS.map((_, p) =>
      this.metrics.requestSeries("outbound", self, nobody, false, p),
    );
    const r = this.install(config);
    if (!r.ok) throw new ProxyStartError(`config ${config.version} cannot be applied: ${r.error}`);
  }

  unknownSeries(protocol: number): RequestSeries {
    return this.unknown[protocol]!;
  }

  log(line: string): void {
    (this.opts.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(line);
  }

  /** Builds the snapshot and swaps it in, or leaves everything as it was. */
  install(config: ProxyConfig): ApplyResult {
    const txn = this.registry.begin();
    let snap: Snapshot;
    try {
      snap = buildSnapshot(config, this.metrics, txn);
      if (this.tcp !== null) this.tcp.check(snap);
    } catch (err) {
      this.registry.abort(txn);
      return { ok: false, error: (err as Error).message };
    }
    const old = this.snapshot as Snapshot | undefined;
    this.snapshot = snap;
    this.registry.commit(txn);
    old?.stop();
    snap.start();
    if (old !== undefined && old.revokedKey !== snap.revokedKey) this.inboundTls?.dropRevoked(snap.revoked);
    this.accessLog = config.telemetry.accessLog
      ? (this.opts.accessLog ?? ((l: string) => process.stdout.write(`${l}\n`)))
      : null;
    this.installTracing(config);
    this.tcp?.update(snap);
    this.metrics.add("trellis_config_applied_total");
    return { ok: true, version: config.version };
  }

  /**
   * Tracing follows the config: the sampler, and one exporter for the proxy's life (its queue survives config
   * changes; a config without `tracing` flushes what is queued and stops it).
   */
  private installTracing(config: ProxyConfig): void {
    const t = config.tracing;
    if (t === undefined) {
      this.sampler = SAMPLE_ALL;
      const old = this.spans;
      this.spans = null;
      void old?.close();
      return;
    }
    this.sampler = percentSampler(t.samplingPercent);
    if (t.endpoint === undefined) {
      // Nowhere to send spans (a static config that only decides sampling): none are recorded.
      const old = this.spans;
      this.spans = null;
      void old?.close();
      return;
    }
    const sink = {
      endpoint: t.endpoint,
      ...(t.workloadCertificate && config.tls ? { tls: config.tls } : {}),
    };
    const id = config.identity;
    const resource: Attributes = [
      ["service.name", id.service],
      ["service.namespace", id.namespace],
      ["service.version", id.version],
      ["telemetry.sdk.name", "trellis-proxy"],
    ];
    if (this.spans === null)
      this.spans = new SpanExporter(t, sink, resource, this.metrics, (l) => this.log(l));
    else this.spans.update(t, sink, resource);
  }

  applyConfig(input: unknown): ApplyResult {
    const v = validateProxyConfig(input);
    let result: ApplyResult;
    if (!v.ok) {
      result = { ok: false, error: formatProxyConfigIssues(v.issues) };
    } else {
      const fixed =
        listenerChange(this.bound, v.config.listeners) ??
        limitsChange(this.snapshot.config.limits, v.config.limits);
      result = fixed !== null ? { ok: false, error: fixed } : this.install(v.config);
    }
    const version =
      typeof (input as { version?: unknown })?.version === "string"
        ? (input as { version: string }).version
        : "(none)";
    if (result.ok) {
      this.log(`trellis proxy: config ${result.version} applied`);
    } else {
      this.metrics.add("trellis_config_rejected_total");
      this.rejection = { version, error: result.error, at: new Date().toISOString() };
      this.log(
        `trellis proxy: config ${version} rejected, still serving ${this.snapshot.version}: ${result.error}`,
      );
    }
    return result;
  }

  lastRejection() {
    return this.rejection;
  }

  track(socket: Socket, listener: keyof typeof LISTENER_LABELS): void {
    const labels = LISTENER_LABELS[listener];
    this.sockets.add(socket);
    this.metrics.add("trellis_tcp_connections_total", labels);
    socket.once("close", () => {
      this.sockets.delete(socket);
      this.metrics.add("trellis_tcp_received_bytes_total", labels, socket.bytesRead);
      this.metrics.add("trellis_tcp_sent_bytes_total", labels, socket.bytesWritten);
    });
  }

  /** HTTP/1 connections handed to a server, so a drain can close the idle ones (handed-over sockets are not
   * tracked by Node's own closeIdleConnections, which only knows sockets its listen() accepted). */
  private readonly http1Sockets = new Set<Socket>();
  serveHttp1(server: http.Server): { emit(event: "connection", socket: Socket): boolean } {
    return {
      emit: (event, socket) => {
        this.http1Sockets.add(socket);
        socket.setTimeout(this.snapshot.config.limits.headersTimeoutMs);
        socket.once("close", () => this.http1Sockets.delete(socket));
        return server.emit(event, socket);
      },
    };
  }

  private closeIdleHttp1(): void {
    for (const s of this.http1Sockets) {
      // `_httpMessage` is the response in progress on this socket; none means it is idle between requests.
      if (!(s as Socket & { _httpMessage?: unknown })._httpMessage) s.destroy();
    }
  }

  trackSessions(h2: Http2Server): void {
    h2.on("session", (s: ServerHttp2Session) => {
      this.h2Sessions.add(s);
      s.once("close", () => this.h2Sessions.delete(s));
    });
  }

  prometheus(): string {
    const extra: Sample[] = [
      ["trellis_config_info", labelPairs({ version: this.snapshot.version }), 1],
      ["trellis_tcp_active_connections", "", this.sockets.size],
      ["trellis_process_resident_memory_bytes", "", process.memoryUsage.rss()],
    ];
    const now = performance.now();
    for (const c of this.snapshot.services) {
      // The port too: a service may have an HTTP port and TCP ports, each its own destination and series.
      const l = labelPairs({
        destination_namespace: c.service.namespace,
        destination_service: c.service.name,
        destination_port: String(c.service.port),
      });
      const d = c.destination;
      extra.push(["trellis_upstream_active_requests", l, d.active]);
      extra.push(["trellis_retries_total", l, d.retriesTotal]);
      extra.push(["trellis_retry_budget_exhausted_total", l, d.retriesOverflow]);
      if (d.gate) extra.push(["trellis_circuit_breaker_open_total", l, d.gate.opened]);
      if (d.outlier) extra.push(["trellis_outlier_ejections_total", l, d.outlier.ejectionsTotal]);
      if (d.rateLimiter) extra.push(["trellis_rate_limited_total", l, d.rateLimiter.rejected]);
      extra.push([
        "trellis_upstream_healthy_endpoints",
        l,
        d.endpoints.filter((e) => e.available(now)).length,
      ]);
    }
    return this.metrics.render(extra);
  }

  async close(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    for (const s of this.netServers) s.close();
    this.tcp?.close();
    const dnsClosed = this.dns?.close();
    for (const s of this.h2Sessions) s.close();
    const deadline = Date.now() + (this.opts.drainTimeoutMs ?? 10_000);
    while (this.sockets.size > 0 && Date.now() < deadline) {
      for (const s of this.http1Servers) s.closeIdleConnections();
      this.closeIdleHttp1();
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const s of this.http1Servers) s.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    this.snapshot.stop();
    // Spans of the last requests go out (for up to two seconds) before the proxy ends.
    await Promise.all([this.registry.closeAll(), dnsClosed, this.spans?.close()]);
  }
}

/** A running proxy cannot move its listeners; a config that asks to is rejected rather than half-applied. */
function listenerChange(current: ProxyListeners, next: ProxyListeners): string | null {
  for (const k of ["outbound", "inbound", "admin"] as const) {
    const n = next[k];
    const c = current[k];
    if (n !== undefined && (c === undefined || c.address !== n.address || c.port !== n.port)) {
      return `listeners.${k}: listeners cannot change while the proxy runs (restart it)`;
    }
  }
  return null;
}

/**
 * Limits are built into the listeners when they start (Node's HTTP/1 and HTTP/2 parsers, the TLS handshake
 * timer, the sniffing timer) and cannot all follow a new config; one that changes any is refused rather than
 * half-applied, like a listener move.
 */
function limitsChange(current: Limits, next: Limits): string | null {
  for (const k of Object.keys(current) as (keyof Limits)[]) {
    if (current[k] !== next[k]) {
      return `limits.${k}: limits cannot change while the proxy runs (${current[k]} in force, ${next[k]} asked; restart it)`;
    }
  }
  return null;
}

function listen(server: net.Server | http.Server, at: ListenerAddress): Promise<BoundAddress> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: at.address, port: at.port, backlog: 4096 }, () => {
      server.off("error", reject);
      const a = server.address() as AddressInfo;
      resolve({ host: a.address, port: a.port });
    });
  });
}

const DNS_OUTCOME_LABELS: Record<DnsOutcome, string> = {
  mesh: labelPairs({ result: "mesh" }),
  nxdomain: labelPairs({ result: "nxdomain" }),
  forwarded: labelPairs({ result: "forwarded" }),
  failed: labelPairs({ result: "failed" }),
  refused: labelPairs({ result: "refused" }),
};

/** Starts a sidecar. Rejects with the reasons when the config is invalid or a listener cannot bind. */
export async function startProxy(options: StartProxyOptions): Promise<ProxyHandle> {
  if (options.capture) {
    const missing = captureAddonError();
    if (missing !== null) throw new ProxyStartError(`cannot capture: ${missing}`);
  }
  const v = validateProxyConfig(options.config);
  if (!v.ok) throw new ProxyStartError(`invalid proxy config: ${formatProxyConfigIssues(v.issues)}`);
  const config = v.config;
  const proxy = new Proxy(options, config);
  const pick = (k: "outbound" | "inbound" | "admin", fallback: boolean): ListenerAddress | null => {
    const o = options.listeners?.[k];
    if (o !== undefined) return o;
    return config.listeners[k] ?? (fallback ? DEFAULT_LISTENERS[k] : null);
  };
  const outAt = pick("outbound", true);
  const inAt = pick("inbound", config.inbound !== undefined);
  const adminAt = pick("admin", true);
  // Later configs are compared against what is actually bound.
  if (outAt) proxy.bound.outbound = outAt;
  if (inAt) proxy.bound.inbound = inAt;
  if (adminAt) proxy.bound.admin = adminAt;

  const addresses: ProxyHandle["addresses"] = { outbound: null, inbound: null, admin: null };
  const badRequest = () => proxy.metrics.add("trellis_bad_requests_total");
  try {
    if (outAt) {
      const handler = outboundHandler(proxy);
      const h1 = createHttp1(handler, config.limits, badRequest);
      const h2 = createH2(handler, config.limits);
      proxy.http1Servers.push(h1);
      proxy.trackSessions(h2);
      const h1Entry = proxy.serveHttp1(h1);
      const captured = { http1: h1Entry, h2, tcp: () => proxy.tcp };
      const server = net.createServer({ noDelay: true }, (socket) => {
        proxy.track(socket, "outbound");
        const dialled = options.capture ? originalDst(socket) : null;
        if (dialled !== null)
          return acceptCaptured(proxy, socket, dialled, captured, config.limits.headersTimeoutMs);
        // Apps speak HTTP/1.1, or HTTP/2 with prior knowledge (gRPC over h2c).
        sniffPlain(socket, config.limits.headersTimeoutMs, h1Entry, h2);
      });
      proxy.netServers.push(server);
      addresses.outbound = await listen(server, outAt);
    }
    if (inAt) {
      const handler = inboundHandler(proxy);
      const h1 = createHttp1(handler, config.limits, badRequest);
      const h2 = createH2(handler, config.limits);
      proxy.http1Servers.push(h1);
      proxy.trackSessions(h2);
      const base = { http1: proxy.serveHttp1(h1), h2 };
      const inboundTls = new InboundTls(proxy, base, config.limits.headersTimeoutMs);
      proxy.inboundTls = inboundTls;
      const inboundServers = { ...base, tls: (m: TlsState) => inboundTls.forMaterial(m) };
      const server = net.createServer({ noDelay: true }, (socket) => {
        proxy.track(socket, "inbound");
        const dialled = options.capture ? originalDst(socket) : null;
        if (dialled !== null && acceptCapturedInbound(proxy, socket, dialled)) return;
        acceptInbound(proxy, inboundServers, socket, config.limits.headersTimeoutMs);
      });
      proxy.netServers.push(server);
      addresses.inbound = await listen(server, inAt);
    }
    if (adminAt) {
      const admin = createAdmin({
        get snapshot() {
          return proxy.snapshot;
        },
        ready: () => !proxy.draining,
        prometheus: () => proxy.prometheus(),
        lastRejection: () => proxy.lastRejection(),
        relaySpans: (body, type, encoding) => proxy.spans?.relay(body, type, encoding) ?? null,
      });
      admin.on("connection", (s: Socket) => proxy.track(s, "admin"));
      proxy.netServers.push(admin);
      proxy.http1Servers.push(admin);
      addresses.admin = await listen(admin, adminAt);
    }
    proxy.tcp = await startTcpServices(proxy, (s) => proxy.track(s, "tcp"));
    if (options.dns) {
      const dns = await startDnsServer({
        ...options.dns,
        lookup: (name) => proxy.snapshot.vipOf(name),
        onQuery: (outcome) => proxy.metrics.add("trellis_dns_queries_total", DNS_OUTCOME_LABELS[outcome]),
      });
      proxy.dns = dns;
      addresses.dns = dns.address;
    }
  } catch (err) {
    await proxy.close();
    throw new ProxyStartError(`cannot start listeners: ${(err as Error).message}`, { cause: err });
  }

  return {
    addresses,
    applyConfig: (c) => proxy.applyConfig(c),
    currentVersion: () => proxy.snapshot.version,
    drainTelemetry: () => proxy.metrics.drainTelemetry(),
    drainAccess: () => proxy.metrics.access.drain(),
    close: () => proxy.close(),
  };
}

function sniffPlain(
  socket: Socket,
  timeoutMs: number,
  h1: { emit(event: "connection", socket: Socket): boolean },
  h2: Http2Server,
): void {
  sniff(socket, timeoutMs, (kind) => {
    if (kind === "h2c") h2.emit("connection", socket);
    else h1.emit("connection", socket);
  });
}
