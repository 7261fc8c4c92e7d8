import type { Resource, TlsMaterial } from "@trellis/contracts";

/**
 * What the compiler needs to build one proxy's config. Everything is plain data, read by the server in one
 * consistent snapshot, so compiling is a pure function of it.
 *
 * When to edit this file: when a resource kind or the registry gains something a proxy config depends on.
 */
export interface CompileInput {
  /** Version of the snapshot, copied into the config. Proxies compare it for equality only. */
  version: string;
  /**
   * Every resource in force, already parsed with `ZResource`. The MeshSettings among them (at most one, named
   * `mesh` in `trellis-system`) gives the mesh-wide settings; without it, their defaults apply.
   */
  resources: readonly Resource[];
  /** The registry: services and their workloads. */
  registry: RegistrySnapshot;
  /** The proxy being configured. */
  proxy: TargetProxy;
  /** Certificate, key and CA bundle of this workload; the server issues them and injects them here. */
  tls: TlsMaterial;
  /**
   * The mesh CA's trust domain. Identities in the config must be the ones the CA certifies, so this wins over
   * MeshSettings' `trustDomain` when both are given. Absent: MeshSettings', else the default.
   */
  trustDomain?: string;
}

export interface RegistrySnapshot {
  services: readonly RegistryService[];
}

export interface RegistryService {
  namespace: string;
  name: string;
  /** `http` (default) is routed per request; `tcp` is passed through. */
  protocol?: "http" | "tcp";
  /** Port the apps address the service on (`reviews:9080`). Default 80. */
  port?: number;
  /** `tcp` only: the port of the app on the destination workloads. Default: `port`. */
  targetPort?: number;
  /** The service's virtual IP (see `ZOutboundService.vip`); absent: none allocated. */
  vip?: string;
  workloads: readonly RegistryWorkload[];
}

export interface RegistryWorkload {
  /** Workload id (the registry's primary key). */
  id: string;
  /** Version label. */
  version: string;
  /** `host:port` of the workload's inbound (mTLS) listener. */
  address: string;
  /** SPIFFE ID of the workload (`spiffe://<trust-domain>/ns/<ns>/sa/<service>`). */
  identity: string;
  /** Connected to the control plane now. Only healthy workloads become endpoints. */
  healthy: boolean;
}

export interface TargetProxy {
  namespace: string;
  service: string;
  version: string;
  workloadId: string;
  /**
   * `namespace/name` of the only services this proxy calls (see `ProxyNode.reachableServices`); absent: all.
   * Its outbound config carries only those.
   */
  reachable?: readonly string[];
  /** How the local app is reached. Absent: the proxy accepts no inbound traffic (a pure client). */
  inbound?: {
    /** Port of the local app. */
    appPort: number;
    /** Address of the local app. Default 127.0.0.1. */
    appAddress?: string;
    /** App ports callers may reach with raw TCP passthrough. */
    tcpPorts?: readonly number[];
  };
}
