// Compiles a validated ProxyConfig into a Snapshot: everything the hot path needs, resolved ahead of time —
// host table, route predicates, one layer stack per route, destinations with their balancers, the inbound
// stack. A request reads the snapshot once when it arrives and keeps it to the end, so a swap never touches
// requests in flight.
import {
  parseSpiffeId,
  spiffeId,
  type OutboundService,
  type ProxyConfig,
  type Route,
} from "@trellis/contracts/proxy";
import { stack, type Handler, type ProxyRequest, type RequestContext } from "../core/types.js";
import { ProxyError } from "../core/errors.js";
import { Destination } from "../cluster/destination.js";
import type { RegistryTxn } from "../cluster/registry.js";
import { createPool } from "../upstream/pools.js";
import { H2Pool } from "../upstream/h2.js";
import { compileMatch, type RoutePredicate } from "../router/match.js";
import { fault } from "../layers/fault.js";
import { rateLimit, RateLimiter } from "../layers/rate-limit.js";
import { headerRewrite } from "../layers/header-rewrite.js";
import { timeout } from "../layers/timeout.js";
import { retry } from "../layers/retry.js";
import { authz, tcpAuthz, type TcpAuthorizer } from "../layers/authz.js";
import { loadTls, type TlsState } from "../tls/material.js";
import type { RevokedSerials } from "../tls/identity.js";
import { createHash } from "node:crypto";
import type { Metrics, PeerLabels, RequestSeries } from "../telemetry/metrics.js";
import { sendToEndpoint, type EndpointState } from "../cluster/endpoint.js";
import { P_TCP, PROTOCOL_COUNT } from "../telemetry/protocol.js";

export interface CompiledRoute {
  name: string;
  /** null: matches everything. */
  match: RoutePredicate | null;
  handler: Handler;
}

export interface CompiledService {
  service: OutboundService;
  destination: Destination;
  routes: CompiledRoute[];
}

export interface InboundRuntime {
  handler: Handler;
  appAddress: string;
  tcpPorts: number[];
  /** Whether a raw TCP connection from this caller may reach the app: null, or why not (AccessPolicies). */
  authorizeTcp: TcpAuthorizer;
  mtlsMode: "strict" | "permissive";
  app: EndpointState;
  /** Telemetry series for a caller, cached by identity, version and protocol. */
  seriesFor(peerId: string | null, sourceVersion: string, protocol: number): RequestSeries;
}

/** Where a captured connection was dialled to (SO_ORIGINAL_DST). */
export interface Dialled {
  address: string;
  port: number;
}

export class Snapshot {
  constructor(
    readonly config: ProxyConfig,
    readonly tls: TlsState | null,
    readonly services: CompiledService[],
    private readonly hosts: Map<string, CompiledService>,
    private readonly catchAll: CompiledService | null,
    /** Services by virtual IP: a name's entries (an HTTP port and TCP ports share its VIP). */
    private readonly byVip: ReadonlyMap<string, readonly CompiledService[]>,
    readonly inbound: InboundRuntime | null,
    /** Serials of peer certificates to refuse (config `revokedCertificates`, unexpired ones). */
    readonly revoked: RevokedSerials = new Set(),
    /** Identifies `revoked`: "" when empty. Pools are rebuilt when it changes. */
    readonly revokedKey: string = "",
  ) {}

  get version(): string {
    return this.config.version;
  }

  /**
   * The service a request is for: the one its authority (`reviews`, `reviews:9080`,
   * `reviews.shop.svc.cluster.local`) names, else `unnamed`.
   */
  resolve(authority: string, dialled?: Dialled | null): CompiledService | null {
    return this.named(authority) ?? this.unnamed(dialled ?? null);
  }

  /** For a request whose authority names no service: the VIP's service it was dialled to, else the catch-all. */
  unnamed(dialled: Dialled | null): CompiledService | null {
    return (dialled ? this.atVip(dialled.address, dialled.port) : null) ?? this.catchAll;
  }

  /** The service an authority names, not counting a catch-all (`hosts: ["*"]`). */
  named(authority: string): CompiledService | null {
    const hit = this.hosts.get(authority);
    if (hit !== undefined) return hit;
    const colon = authority.lastIndexOf(":");
    if (colon > 0 && authority.charCodeAt(authority.length - 1) !== 93 /* ] */) {
      const bare = this.hosts.get(authority.slice(0, colon).toLowerCase());
      if (bare !== undefined) return bare;
    }
    return this.hosts.get(authority.toLowerCase()) ?? null;
  }

  /** The mesh's DNS names in force (see `serviceNames`) → VIP; built when first asked. */
  private dnsNames: Map<string, string> | null = null;

  /** The VIP a DNS name (lowercase, no trailing dot) resolves to in the mesh; undefined: no service's name. */
  vipOf(name: string): string | undefined {
    if (this.dnsNames === null) {
      const own = this.config.identity.namespace;
      const names = new Map<string, string>();
      for (const c of this.services) {
        const vip = c.service.vip;
        if (vip === undefined) continue;
        for (const n of serviceNames(c.service, own)) if (!names.has(n)) names.set(n, vip);
      }
      this.dnsNames = names;
    }
    return this.dnsNames.get(name);
  }

  /**
   * The service a captured connection dialled (`vip`:`port`) is for: its entry on that port, else its HTTP
   * entry (HTTP is routed per request, whatever port the app used). Null: not a service's VIP.
   */
  atVip(vip: string, port: number): CompiledService | null {
    const entries = this.byVip.get(vip);
    if (entries === undefined) return null;
    return (
      entries.find((c) => c.service.port === port) ??
      entries.find((c) => c.service.protocol === "http") ??
      null
    );
  }

  start(): void {
    for (const s of this.services) s.destination.health?.start();
  }

  stop(): void {
    for (const s of this.services) s.destination.health?.stop();
  }
}

const PLAIN = "plain";

/** Builds a snapshot. Throws (with a reason fit for a NACK) when the config cannot be put in force. */
export function buildSnapshot(config: ProxyConfig, metrics: Metrics, txn: RegistryTxn): Snapshot {
  const tls = config.tls ? loadTls(config.tls) : null;
  const id = config.identity;
  const self: PeerLabels = { namespace: id.namespace, service: id.service, version: id.version };

  const now = Date.now();
  const revoked: Set<string> = new Set(
    (config.revokedCertificates ?? []).filter((r) => Date.parse(r.expiresAt) > now).map((r) => r.serial),
  );
  const revokedKey =
    revoked.size === 0
      ? ""
      : createHash("sha256")
          .update([...revoked].sort().join(","))
          .digest("base64url")
          .slice(0, 16);

  const services: CompiledService[] = [];
  const hosts = new Map<string, CompiledService>();
  let catchAll: CompiledService | null = null;

  for (const svc of config.services) {
    const p = svc.policy;
    const expectedPeer = svc.mtls ? spiffeId(id.trustDomain, svc.namespace, svc.name) : null;
    const perEndpointConns = p.circuitBreaker
      ? Math.max(1, Math.ceil(p.circuitBreaker.maxConnections / Math.max(1, svc.endpoints.length)))
      : null;
    // Plain endpoints (no sidecar there) take what `appProtocol` says; sidecars take h2 for h2 requests.
    const plainH2c = !svc.mtls && svc.appProtocol === "h2c";
    const endpoints = svc.endpoints.map((e) => {
      const peer = {
        tls: svc.mtls ? tls : null,
        expectedPeer,
        revoked,
        connections: perEndpointConns,
        idleTimeoutMs: p.idleTimeoutMs,
      };
      // mTLS pools check peers against the revocation list they were made with: a new list, new pools.
      const key = `${svc.mtls ? `${tls!.fingerprint}|${revokedKey}` : `${PLAIN}|${svc.appProtocol}`}|${expectedPeer ?? ""}|${e.address}|${perEndpointConns ?? ""}|${p.idleTimeoutMs}`;
      return txn.get(
        key,
        e.address,
        () => createPool(e.address, peer),
        e.version,
        e.weight,
        e.labels,
        // HTTP/2 sessions are opened on first use (most HTTP/1.1 callers never need them).
        svc.mtls || plainH2c ? () => new H2Pool(e.address, peer) : null,
        plainH2c,
      );
    });
    const destination = new Destination(svc, endpoints, metrics, self);
    const routes = (svc.routes.length > 0 ? svc.routes : [defaultRoute()]).map((r, i) =>
      compileRoute(r, i, destination),
    );
    const compiled: CompiledService = { service: svc, destination, routes };
    services.push(compiled);
  }
  // Host names, first claim wins. A bare name (`reviews`) means the service of the caller's own namespace, as
  // in Kubernetes DNS, and only that: were another namespace's `reviews` to answer while this namespace has
  // none (not yet deployed, or between rollouts), any tenant could catch a neighbour's calls by registering a
  // service of the right name. Other namespaces are reached by `name.namespace` and longer.
  const own = services.filter((c) => c.service.namespace === id.namespace);
  const others = services.filter((c) => c.service.namespace !== id.namespace);
  const byVip = new Map<string, CompiledService[]>();
  for (const compiled of services) {
    const vip = compiled.service.vip;
    if (vip !== undefined) byVip.set(vip, [...(byVip.get(vip) ?? []), compiled]);
  }
  for (const compiled of [...own, ...others]) {
    const svc = compiled.service;
    if (svc.protocol !== "http") continue;
    const names = serviceNames(svc, id.namespace);
    for (const h of svc.hosts) {
      if (h === "*") catchAll = compiled;
      else names.push(h.toLowerCase());
    }
    for (const n of names) {
      if (!hosts.has(n)) hosts.set(n, compiled);
      if (!hosts.has(`${n}:${svc.port}`)) hosts.set(`${n}:${svc.port}`, compiled);
    }
  }

  let inbound: InboundRuntime | null = null;
  if (config.inbound) {
    const ib = config.inbound;
    const address = ib.appAddress.includes(":")
      ? `[${ib.appAddress}]:${ib.appPort}`
      : `${ib.appAddress}:${ib.appPort}`;
    const h2c = ib.appProtocol === "h2c";
    const appPeer = { tls: null, expectedPeer: null, connections: null, idleTimeoutMs: 60_000 };
    const app = txn.get(
      `app|${ib.appProtocol}|${address}`,
      address,
      () => createPool(address, appPeer),
      id.version,
      1,
      {},
      h2c ? () => new H2Pool(address, appPeer) : null,
      h2c,
    );
    const limiter = ib.rateLimit ? new RateLimiter(ib.rateLimit) : null;
    const callApp: Handler = (req: ProxyRequest, ctx: RequestContext) => {
      const left = ctx.deadline - performance.now();
      if (left <= 0)
        return Promise.reject(
          new ProxyError("DP_UPSTREAM_TIMEOUT", "deadline passed before calling the app"),
        );
      ctx.upstreamAddress = address;
      ctx.upstreamVersion = id.version;
      ctx.attempts++;
      return sendToEndpoint(app, req, left === Infinity ? 0 : Math.ceil(left), ctx.streamIdleTimeoutMs);
    };
    const handler = stack(
      callApp,
      authz(ib.authorization), // who may call at all: decided before anything is spent on the request
      rateLimit(limiter), // then shed excess load (per caller when configured)
      timeout(ib.timeoutMs), // bound the app's time to answer
    );
    const byCaller = new Map<string, (RequestSeries | undefined)[]>();
    inbound = {
      handler,
      appAddress: ib.appAddress,
      tcpPorts: ib.tcpPorts,
      authorizeTcp: tcpAuthz(ib.authorization),
      mtlsMode: ib.mtlsMode,
      app,
      seriesFor(peerId, sourceVersion, protocol) {
        const key = `${peerId ?? ""}|${sourceVersion}`;
        let byProtocol = byCaller.get(key);
        if (byProtocol === undefined) {
          if (byCaller.size > 10_000) byCaller.clear();
          byProtocol = new Array<RequestSeries | undefined>(PROTOCOL_COUNT);
          byCaller.set(key, byProtocol);
        }
        let s = byProtocol[protocol];
        if (s === undefined) {
          const caller = peerId === null ? null : parseSpiffeId(peerId);
          const src: PeerLabels = {
            namespace: caller?.namespace ?? "unknown",
            service: caller?.service ?? "unknown",
            version: sourceVersion || "unknown",
          };
          s = metrics.requestSeries("inbound", src, self, peerId !== null, protocol);
          // Methods and paths per caller identity (decision 006). TCP connections have neither.
          if (protocol !== P_TCP) s.access ??= metrics.access.caller(src, self);
          byProtocol[protocol] = s;
        }
        return s;
      },
    };
  }

  return new Snapshot(config, tls, services, hosts, catchAll, byVip, inbound, revoked, revokedKey);
}

/**
 * The names a workload in `ownNamespace` reaches a service by (HTTP `Host`, and the sidecar's DNS): the bare
 * name in its own namespace only, and `name.namespace[.svc[.cluster.local]]` everywhere.
 */
export function serviceNames(svc: { name: string; namespace: string }, ownNamespace: string): string[] {
  return [
    ...(svc.namespace === ownNamespace ? [svc.name] : []),
    `${svc.name}.${svc.namespace}`,
    `${svc.name}.${svc.namespace}.svc`,
    `${svc.name}.${svc.namespace}.svc.cluster.local`,
  ];
}

function defaultRoute(): Route {
  return { match: { headers: [], query: [] }, timeoutMs: 15_000 };
}

function compileRoute(r: Route, index: number, dest: Destination): CompiledRoute {
  const split = backendSplit(r, dest);
  const handler = stack(
    split,
    fault(r.fault), // outermost, like Envoy's fault filter: an injected abort costs nothing further down
    rateLimit(r.rateLimit ? new RateLimiter(r.rateLimit) : null), // per-route local limit
    rateLimit(dest.rateLimiter), // per-destination limit, shared by all routes to it
    headerRewrite(r.requestHeaders, r.responseHeaders), // edits once, not once per try
    timeout(r.timeoutMs), // the deadline every try must meet
    retry(r.retries, dest), // each try re-picks a backend and an endpoint
  );
  return {
    name: r.name ?? `route-${index}`,
    match: compileMatch(r.match),
    handler,
  };
}

/** Weighted split across version subsets (canary). One backend: no random draw at all. */
function backendSplit(r: Route, dest: Destination): Handler {
  const backends = (r.backends ?? [{ version: undefined, weight: 1 }]).filter((b) => b.weight > 0);
  if (backends.length === 1) return dest.subset(backends[0]!.version);
  const handlers = backends.map((b) => dest.subset(b.version));
  const cumulative: number[] = [];
  let total = 0;
  for (const b of backends) cumulative.push((total += b.weight));
  return (req, ctx) => {
    const x = Math.random() * total;
    let i = 0;
    while (cumulative[i]! <= x) i++;
    return handlers[i]!(req, ctx);
  };
}
