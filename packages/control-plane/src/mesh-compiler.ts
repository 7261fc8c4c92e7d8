// Adapts the policy compiler (compiler/) to the server: stored rows → parsed resources, the registry as the
// server reads it, and placeholders for what each proxy supplies itself (its key and certificate, its app
// port), which are then left out of the pushed config.
import { parseStoredResource, type Resource } from "@trellis/contracts";
import {
  CompileCache,
  compileProxyConfig,
  endpointProblem,
  type RegistryService as CompilerRegistryService,
} from "./compiler/index.js";
import type { RegistrySnapshot } from "./registry.js";
import type { CompileFn, ResourceRecord } from "./snapshots.js";

const PLACEHOLDER_TLS = {
  certPem: "supplied-by-the-proxy",
  keyPem: "supplied-by-the-proxy",
  caPem: "supplied-by-the-proxy",
};

/** Stored resources are validated when a change is applied; one that no longer parses is skipped, not fatal. */
function parseStored(rows: readonly ResourceRecord[], log: (l: string) => void): Resource[] {
  const out: Resource[] = [];
  for (const r of rows) {
    const parsed = parseStoredResource(r);
    if (parsed.ok) out.push(parsed.resource);
    else
      log(
        `control plane: skipping stored ${r.kind} ${r.namespace}/${r.name}: ${parsed.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
      );
  }
  return out;
}

export function meshCompiler(log: (l: string) => void = () => {}): CompileFn {
  // Parsing, the registry's shape and each outbound entry are per recompute, not per proxy group: cache on the
  // identity of the rows array and of the registry snapshot (the server passes the same ones to every group).
  let lastRows: readonly ResourceRecord[] | null = null;
  let lastParsed: Resource[] = [];
  let lastRegistry: RegistrySnapshot | null = null;
  let lastServices: { services: CompilerRegistryService[] } = { services: [] };
  const cache = new CompileCache();
  // Workloads already logged as unusable endpoints (`id address version`): said once, not at every recompute.
  let reported = new Set<string>();
  return ({ proxy, resources, registry, trustDomain }) => {
    if (resources !== lastRows) {
      lastParsed = parseStored(resources, log);
      lastRows = resources;
      const settings = lastParsed.find((r) => r.kind === "MeshSettings");
      if (
        settings?.kind === "MeshSettings" &&
        settings.spec.trustDomain &&
        settings.spec.trustDomain !== trustDomain
      )
        log(
          `control plane: MeshSettings asks for trust domain "${settings.spec.trustDomain}", but the mesh CA certifies "${trustDomain}"; using "${trustDomain}"`,
        );
    }
    if (registry !== lastRegistry) {
      lastRegistry = registry;
      reported = reportBadEndpoints(registry, reported, log);
      lastServices = {
        services: registry.services.map((s) => ({
          namespace: s.namespace,
          name: s.name,
          protocol: s.protocol === "tcp" ? "tcp" : "http",
          // A TCP service is reached on its announced port, which is also the app's port on its workloads.
          ...(s.protocol === "tcp" && s.port !== null ? { port: s.port, targetPort: s.port } : {}),
          // Every caller's sidecar knows the service by it: captured connections to it, and DNS answers.
          ...(s.vip !== null ? { vip: s.vip } : {}),
          workloads: s.workloads.map((w) => ({
            id: w.id,
            version: w.version,
            address: w.address,
            identity: w.identity,
            healthy: true,
          })),
        })),
      };
    }
    const config = compileProxyConfig(
      {
        version: "unversioned",
        trustDomain,
        resources: lastParsed,
        registry: lastServices,
        proxy: {
          namespace: proxy.namespace,
          service: proxy.service,
          version: proxy.version,
          ...(proxy.reachable ? { reachable: proxy.reachable } : {}),
          workloadId: "",
          inbound: { appPort: 0 },
        },
        tls: PLACEHOLDER_TLS,
      },
      cache,
    );
    // Validated by the compiler: the server sends it as it is. `services` may be shared with other groups.
    const { version: _v, tls: _t, ...rest } = config;
    return rest as Record<string, unknown>;
  };
}

/**
 * Logs each workload the compiler leaves out of its service's endpoints (see `compileEndpoints`) once, and
 * returns the ones still in the registry (a workload that goes and comes back bad is logged again).
 */
function reportBadEndpoints(
  registry: RegistrySnapshot,
  before: Set<string>,
  log: (l: string) => void,
): Set<string> {
  const now = new Set<string>();
  for (const s of registry.services)
    for (const w of s.workloads) {
      const problem = endpointProblem(w);
      if (problem === null) continue;
      const key = `${w.id} ${w.address} ${w.version}`;
      now.add(key);
      if (!before.has(key))
        log(
          `control plane: skipping workload ${w.id} of ${s.namespace}/${s.name} as an endpoint: its stored ${problem}`,
        );
    }
  return now;
}
