import {
  formatProxyConfigIssues,
  validateProxyConfig,
  type AccessPolicyResource,
  type DestinationPolicyResource,
  type FieldIssue,
  type OutboundService,
  type ProxyConfig,
  type ProxyConfigInput,
  type Resource,
  type RouteResource,
} from "@trellis/contracts";
import { compileAuthorization } from "./access-policy.js";
import { compileDestinationPolicy, inboundRateLimit } from "./destination-policy.js";
import { compileEndpoints } from "./endpoints.js";
import type { CompileInput, RegistryService } from "./input.js";
import { meshDefaults, type MeshDefaults } from "./mesh-settings.js";
import type { InboundInput, OutboundServiceInput } from "./proxy-types.js";
import { compileRoutes } from "./route.js";
import { cmp, withoutUndefined } from "./util.js";

/** The compiled config did not pass the proxy config's own validation: a compiler bug or bad registry data. */
export class CompileError extends Error {
  readonly code = "COMPILE_INVALID_CONFIG";
  constructor(readonly issues: FieldIssue[]) {
    super(`compiled proxy config is invalid: ${formatProxyConfigIssues(issues)}`);
    this.name = "CompileError";
  }
}

/** The resources of each kind, grouped by the service they target (`namespace/service`). */
interface ResourceIndex {
  routes: Map<string, RouteResource[]>;
  destinationPolicies: Map<string, DestinationPolicyResource>;
  accessPolicies: Map<string, AccessPolicyResource[]>;
}

function indexResources(resources: readonly Resource[]): ResourceIndex {
  const idx: ResourceIndex = { routes: new Map(), destinationPolicies: new Map(), accessPolicies: new Map() };
  for (const r of resources) {
    if (r.kind === "MeshSettings") continue;
    const key = `${r.metadata.namespace}/${r.spec.service}`;
    if (r.kind === "Route") push(idx.routes, key, r);
    else if (r.kind === "AccessPolicy") push(idx.accessPolicies, key, r);
    else {
      // One DestinationPolicy per service (validation refuses a second); should a store hold two, the first by
      // name wins, so the choice does not depend on the order rows were read in.
      const prev = idx.destinationPolicies.get(key);
      if (prev === undefined || cmp(r.metadata.name, prev.metadata.name) < 0)
        idx.destinationPolicies.set(key, r);
    }
  }
  return idx;
}

function push<T>(m: Map<string, T[]>, key: string, v: T): void {
  const list = m.get(key);
  if (list === undefined) m.set(key, [v]);
  else list.push(v);
}

/**
 * Compiles the config of one proxy. Pure and deterministic: equal inputs give deeply equal configs whose
 * `JSON.stringify` is byte-for-byte equal, whatever order resources, services or workloads arrive in, so the
 * server may hash the output (with `version` set to a constant) and push only when it changed.
 *
 * What the proxy gets:
 * - outbound: every service of the mesh (its own included; only those in `proxy.reachable` when the proxy
 *   declared the services it calls), in namespace/name order, also services whose AccessPolicies refuse every
 *   request of this proxy's service: the destination's proxy refuses those calls with 403, as the policy
 *   promises. Left out, the call would fail with 404 "unknown service", which says something else.
 *   Each with the healthy workloads as endpoints, its Route's rules then a default route (HTTP only), and its
 *   DestinationPolicy's caller-side parts;
 * - inbound (when `proxy.inbound` is given): mTLS mode from MeshSettings, authorization from the AccessPolicies
 *   of its own service, the rate limit of its own service's DestinationPolicy;
 * - identity and access log from MeshSettings, and the TLS material as given.
 *
 * Resources are compiled as stored; semantic problems the validator would refuse (weights not summing to 100,
 * two Routes for a service) still compile to a valid config with a documented meaning.
 *
 * @throws CompileError when the result fails `validateProxyConfig` (a bug, or registry data such as a bad service name; a
 * workload with a bad address or version is left out instead, see `compileEndpoints`).
 */
export function compileProxyConfig(input: CompileInput, cache?: CompileCache): ProxyConfig {
  if (cache !== undefined) {
    const fast = cache.compile(input);
    if (fast !== null) return fast;
    // Something did not validate: compile the slow way, which reports exactly what and where.
  }
  const { mesh, idx } = basics(input);
  const candidates = [...input.registry.services]
    .sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name))
    .filter((svc) => !outOfReach(input, svc) && !unboundTcp(input, svc));
  const losers = tcpPortLosers(candidates, input.proxy.namespace);
  const services = candidates.filter((svc) => !losers.has(svc)).map((svc) => compileOutbound(svc, idx, mesh));

  const checked = validateProxyConfig(rawConfig(input, mesh, idx, services));
  if (!checked.ok) throw new CompileError(checked.issues);
  return checked.config;
}

/**
 * The proxy's own service when that is TCP: its outbound listener would take 127.0.0.1 at the port its app
 * serves on (they share a host or network namespace), so the app could not bind it, or the proxy could not.
 * An app does not call itself through the mesh.
 */
function ownTcpService(input: CompileInput, svc: RegistryService): boolean {
  return (
    svc.protocol === "tcp" && svc.namespace === input.proxy.namespace && svc.name === input.proxy.service
  );
}

/**
 * A TCP service this proxy opens no local listener for (docs/decisions/008-tcp-port-ownership.md). A TCP
 * service is a port bound on 127.0.0.1 of every sidecar that gets it, so who gets one is narrower than for
 * HTTP (routed by name behind the one outbound listener):
 * - its own service (`ownTcpService`);
 * - another namespace's, unless this proxy declared it among the services it calls: a namespace decides which
 *   ports its sidecars open, and another namespace's proxies announcing a port cannot open it on them;
 * - one without a healthy workload: no live proxy announces its port any more, so the listener goes (a proxy
 *   that left, or whose registration expired, leaves nothing bound behind it).
 */
function unboundTcp(input: CompileInput, svc: RegistryService): boolean {
  if (svc.protocol !== "tcp") return false;
  return (
    ownTcpService(input, svc) ||
    (svc.namespace !== input.proxy.namespace && !declared(input, svc)) ||
    !svc.workloads.some((w) => w.healthy)
  );
}

function declared(input: CompileInput, svc: RegistryService): boolean {
  return input.proxy.reachable?.includes(`${svc.namespace}/${svc.name}`) ?? false;
}

/**
 * TCP services that lose their port to another one this proxy gets: one local listener per port. The proxy's
 * own namespace wins (it owns its ports; the registry lets one live service of a namespace hold a port), then
 * the first by namespace and name, so every replica picks the same. Only a proxy that declared services of
 * other namespaces on one port, or two services of its namespace that claimed a port at the same instant,
 * meets this.
 */
function tcpPortLosers(services: readonly RegistryService[], namespace: string): Set<RegistryService> {
  const losers = new Set<RegistryService>();
  const winners = new Map<number, RegistryService>();
  for (const svc of services) {
    if (svc.protocol !== "tcp") continue;
    const port = svc.port ?? 80;
    const held = winners.get(port);
    if (held === undefined) winners.set(port, svc);
    else if (held.namespace !== namespace && svc.namespace === namespace) {
      losers.add(held);
      winners.set(port, svc);
    } else losers.add(svc);
  }
  return losers;
}

/** A service the proxy did not declare among those it calls (when it declared any). */
function outOfReach(input: CompileInput, svc: RegistryService): boolean {
  const r = input.proxy.reachable;
  return r !== undefined && !r.includes(`${svc.namespace}/${svc.name}`);
}

function basics(input: CompileInput): { mesh: MeshDefaults; idx: ResourceIndex } {
  const settings = meshDefaults(input.resources);
  const mesh = input.trustDomain === undefined ? settings : { ...settings, trustDomain: input.trustDomain };
  return { mesh, idx: indexResources(input.resources) };
}

function rawConfig(
  input: CompileInput,
  mesh: MeshDefaults,
  idx: ResourceIndex,
  services: OutboundServiceInput[],
): ProxyConfigInput {
  return withoutUndefined({
    version: input.version,
    identity: {
      namespace: input.proxy.namespace,
      service: input.proxy.service,
      version: input.proxy.version,
      trustDomain: mesh.trustDomain,
    },
    services,
    inbound: compileInbound(input, idx, mesh),
    tls: input.tls,
    outboundTrafficPolicy: mesh.outboundTrafficPolicy,
    telemetry: { accessLog: mesh.accessLog },
    // No endpoint: each proxy sends to the replica it is joined to (see ZTracing.endpoint).
    tracing: { samplingPercent: mesh.tracingSamplingPercent },
  });
}

/**
 * Memo for compiling the configs of many proxies from one set of inputs (one recompute of the server).
 *
 * A proxy's outbound entries depend on the resources and the registry, not on the proxy (only which services
 * it gets does, through the services it declared it calls): without the memo, every group of proxies compiled
 * and validated every service of the mesh again, O(groups × endpoints) per change. With it, each service is compiled and validated
 * once per input set, and proxies that get the same services share one array of them: the server serializes
 * that array once, not once per group.
 *
 * Inputs are recognized by identity (the same `resources` and `registry` objects), so pass the same objects
 * for every proxy of one recompute, and new objects after a change. The output equals the uncached output
 * (`compile.test.ts` checks that on every golden case); configs share their `services` array and its entries,
 * so treat them as read-only. Whenever a piece does not validate, `compileProxyConfig` falls back to the plain
 * path, so errors read exactly as without the memo.
 */
export class CompileCache {
  private key: {
    resources: CompileInput["resources"];
    registry: CompileInput["registry"];
    trustDomain: string | undefined;
    tls: boolean;
  } | null = null;
  private mesh!: MeshDefaults;
  private idx!: ResourceIndex;
  private sorted: RegistryService[] = [];
  /** Validated outbound entry per service; null when it did not validate on its own. */
  private outbound = new Map<RegistryService, OutboundService | null>();
  /** `namespace/name` → index in `sorted`. */
  private indexOf = new Map<string, number>();
  /** Indexes in `sorted` of the TCP services (few: each is a port on its callers). */
  private tcp: number[] = [];
  /** Shared `services` arrays, by the indexes (in `sorted`) of the services they hold. */
  private lists = new Map<string, OutboundService[] | null>();

  /** The config, or null when some part does not validate (the caller then takes the plain path). */
  compile(input: CompileInput): ProxyConfig | null {
    this.prepare(input);
    // The services this proxy gets, as indexes into `sorted`: its declared ones (looked up, not searched
    // for: a proxy that calls 3 of 5,000 services costs 3), or all of them.
    const reachable = input.proxy.reachable;
    // Less the TCP services it opens no listener for (unboundTcp, tcpPortLosers): looked at among the TCP
    // services only, so proxies that get every service still share one list per set of exclusions.
    const ns = input.proxy.namespace;
    let kept: number[] | null;
    let listKey: string;
    if (reachable === undefined) {
      const bound = this.tcp.filter((i) => !unboundTcp(input, this.sorted[i]!));
      const losers = tcpPortLosers(
        bound.map((i) => this.sorted[i]!),
        ns,
      );
      const excluded = this.tcp.filter((i) => !bound.includes(i) || losers.has(this.sorted[i]!));
      kept = excluded.length === 0 ? null : this.sorted.map((_, i) => i).filter((i) => !excluded.includes(i));
      listKey = excluded.length === 0 ? "*" : `*-${excluded.join(",")}`;
    } else {
      const wanted = reachable
        .flatMap((k) => this.indexOf.get(k) ?? [])
        .sort((a, b) => a - b)
        .filter((i) => !unboundTcp(input, this.sorted[i]!));
      const losers = tcpPortLosers(
        wanted.map((i) => this.sorted[i]!),
        ns,
      );
      kept = wanted.filter((i) => !losers.has(this.sorted[i]!));
      listKey = kept.join(",");
    }
    let services = this.lists.get(listKey);
    if (services === undefined) {
      services = this.list(kept ?? this.sorted.map((_, i) => i), input.tls);
      this.lists.set(listKey, services);
    }
    if (services === null) return null;
    // Everything but the services, validated as a config without any; then the shared, validated list goes in
    // (assigning an existing key keeps the key order, and so the serialized bytes).
    const checked = validateProxyConfig(rawConfig(input, this.mesh, this.idx, []));
    if (!checked.ok) return null;
    checked.config.services = services;
    return checked.config;
  }

  private prepare(input: CompileInput): void {
    const k = this.key;
    const tls = input.tls !== undefined;
    if (
      k !== null &&
      k.resources === input.resources &&
      k.registry === input.registry &&
      k.trustDomain === input.trustDomain &&
      k.tls === tls
    )
      return;
    this.key = { resources: input.resources, registry: input.registry, trustDomain: input.trustDomain, tls };
    ({ mesh: this.mesh, idx: this.idx } = basics(input));
    this.sorted = [...input.registry.services].sort(
      (a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name),
    );
    this.indexOf = new Map(this.sorted.map((svc, i) => [`${svc.namespace}/${svc.name}`, i]));
    this.tcp = this.sorted.flatMap((svc, i) => (svc.protocol === "tcp" ? [i] : []));
    this.outbound.clear();
    this.lists.clear();
  }

  private list(kept: readonly number[], tls: CompileInput["tls"]): OutboundService[] | null {
    const out: OutboundService[] = [];
    // The one cross-service rule of the proxy config (no service name and port twice) is checked here, since
    // each entry was validated alone; on a duplicate the plain path reports it as the validator words it.
    const seen = new Set<string>();
    for (const i of kept) {
      const svc = this.sorted[i]!;
      let entry = this.outbound.get(svc);
      if (entry === undefined) {
        entry = this.validated(svc, tls);
        this.outbound.set(svc, entry);
      }
      if (entry === null) return null;
      const key = `${entry.namespace}/${entry.name}:${entry.port}`;
      if (seen.has(key)) return null;
      seen.add(key);
      out.push(entry);
    }
    return out;
  }

  /** One outbound entry, validated by the proxy config's own schema (field and cross-field rules) as a config of its own. */
  private validated(svc: RegistryService, tls: CompileInput["tls"]): OutboundService | null {
    const checked = validateProxyConfig({
      version: "outbound",
      identity: {
        namespace: svc.namespace,
        service: svc.name,
        version: "v",
        trustDomain: this.mesh.trustDomain,
      },
      services: [compileOutbound(svc, this.idx, this.mesh)],
      tls,
    });
    return checked.ok ? checked.config.services[0]! : null;
  }
}

function compileOutbound(svc: RegistryService, idx: ResourceIndex, mesh: MeshDefaults): OutboundServiceInput {
  const key = `${svc.namespace}/${svc.name}`;
  const endpoints = compileEndpoints(svc);
  const protocol = svc.protocol ?? "http";
  const versions = new Set(endpoints.map((e) => e.version ?? ""));
  return withoutUndefined({
    name: svc.name,
    namespace: svc.namespace,
    protocol,
    port: svc.port ?? 80,
    targetPort: protocol === "tcp" ? svc.targetPort : undefined,
    vip: svc.vip,
    // Every workload runs a sidecar, so proxies always talk mTLS to each other; permissive mode only relaxes
    // what a workload accepts.
    mtls: true,
    // Only read without mTLS; spelled out so the config is exactly what validation makes of it.
    appProtocol: "http1",
    endpoints,
    // TCP is passed through: Routes (HTTP-only, refused by validation) are ignored.
    routes:
      protocol === "http"
        ? compileRoutes(idx.routes.get(key) ?? [], versions, endpoints.length > 0, mesh)
        : [],
    policy: compileDestinationPolicy(idx.destinationPolicies.get(key)),
  });
}

function compileInbound(
  input: CompileInput,
  idx: ResourceIndex,
  mesh: MeshDefaults,
): InboundInput | undefined {
  const ib = input.proxy.inbound;
  if (ib === undefined) return undefined;
  const key = `${input.proxy.namespace}/${input.proxy.service}`;
  return withoutUndefined({
    appPort: ib.appPort,
    appAddress: ib.appAddress ?? "127.0.0.1",
    tcpPorts: [...(ib.tcpPorts ?? [])].sort((a, b) => a - b),
    mtlsMode: mesh.mtlsMode,
    authorization: compileAuthorization(idx.accessPolicies.get(key) ?? [], mesh.trustDomain),
    rateLimit: inboundRateLimit(idx.destinationPolicies.get(key)),
  });
}
