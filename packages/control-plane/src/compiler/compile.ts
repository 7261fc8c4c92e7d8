import {
  formatProxyConfigIssues,
  validateProxyConfig,
  type AccessPolicyResource,
  type DestinationPolicyResource,
  type FieldIssue,
  type ProxyConfig,
  type ProxyConfigInput,
  type Resource,
  type RouteResource,
} from "@trellis/contracts";
import { callerShutOut, compileAuthorization } from "./access-policy.js";
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
      if (prev === undefined || cmp(r.metadata.name, prev.metadata.name) < 0) idx.destinationPolicies.set(key, r);
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
 * - outbound: every service of the mesh (its own included), in namespace/name order, except services whose
 *   AccessPolicies refuse every request of this proxy's service (it would only get 403s; leaving the service
 *   out makes the call fail at the caller's proxy with "unknown service" instead of crossing the network).
 *   Each with the healthy workloads as endpoints, its Route's rules then a default route (HTTP only), and its
 *   DestinationPolicy's caller-side parts;
 * - inbound (when `proxy.inbound` is given): mTLS mode from MeshSettings, authorization from the AccessPolicies
 *   of its own service, the rate limit of its own service's DestinationPolicy;
 * - identity and access log from MeshSettings, and the TLS material as given.
 *
 * Resources are compiled as stored; semantic problems the validator would refuse (weights not summing to 100,
 * two Routes for a service) still compile to a valid config with a documented meaning.
 *
 * @throws CompileError when the result fails `validateProxyConfig` (a bug, or registry data such as a bad address).
 */
export function compileProxyConfig(input: CompileInput): ProxyConfig {
  const settings = meshDefaults(input.resources);
  const mesh = input.trustDomain === undefined ? settings : { ...settings, trustDomain: input.trustDomain };
  const idx = indexResources(input.resources);
  const self = { namespace: input.proxy.namespace, service: input.proxy.service };

  const services = [...input.registry.services]
    .sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name))
    .filter((svc) => !callerShutOut(idx.accessPolicies.get(`${svc.namespace}/${svc.name}`) ?? [], self))
    .map((svc) => compileOutbound(svc, idx, mesh));

  const raw: ProxyConfigInput = withoutUndefined({
    version: input.version,
    identity: { namespace: self.namespace, service: self.service, version: input.proxy.version, trustDomain: mesh.trustDomain },
    services,
    inbound: compileInbound(input, idx, mesh),
    tls: input.tls,
    telemetry: { accessLog: mesh.accessLog },
  });
  const checked = validateProxyConfig(raw);
  if (!checked.ok) throw new CompileError(checked.issues);
  return checked.config;
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
    // Every workload runs a sidecar, so proxies always talk mTLS to each other; permissive mode only relaxes
    // what a workload accepts.
    mtls: true,
    endpoints,
    // TCP is passed through: Routes (HTTP-only, refused by validation) are ignored.
    routes: protocol === "http" ? compileRoutes(idx.routes.get(key) ?? [], versions, endpoints.length > 0, mesh) : [],
    policy: compileDestinationPolicy(idx.destinationPolicies.get(key)),
  });
}

function compileInbound(input: CompileInput, idx: ResourceIndex, mesh: MeshDefaults): InboundInput | undefined {
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
