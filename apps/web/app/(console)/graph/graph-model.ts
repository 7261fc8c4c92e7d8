// The live graph's model: observed traffic (traffic.edges), the registry (service.list) and the policies in
// force (resource.list) turned into nodes and edges with health, badges and labels. Pure functions, no React:
// the page draws what these return, and graph-model.test.ts checks them.
import "@/lib/zod-jitless";
import { formatMs, formatPercent, formatRps } from "../_components/format";
import {
  ZAccessPolicySpec,
  ZRouteSpec,
  accessVerdict,
  type AccessPolicySpec,
  type AccessVerdict,
  type ObservedEdge,
  type ResourceItem,
  type ServiceSummary,
  type TrafficProtocol,
} from "@trellis/contracts";

export type VersionMode = "split" | "merged";

/** Error shares (0..1) above which a node or edge is degraded or failing. */
export interface Thresholds {
  degraded: number;
  failing: number;
}
/** 5xx above 0.1% is degraded, above 10% failing. */
export const DEFAULT_THRESHOLDS: Thresholds = { degraded: 0.001, failing: 0.1 };

export type Health = "idle" | "healthy" | "degraded" | "failing";

export function health(requests: number, errorRate: number, t: Thresholds = DEFAULT_THRESHOLDS): Health {
  if (requests <= 0) return "idle";
  if (errorRate > t.failing) return "failing";
  if (errorRate > t.degraded) return "degraded";
  return "healthy";
}

export interface PolicyRef {
  kind: string;
  namespace: string;
  name: string;
}

export interface Badge {
  kind: "split" | "fault" | "access";
  /** Short text on the node. */
  label: string;
  /** What it means, for the tooltip and the side panel. */
  detail: string;
}

export interface GraphNodeModel {
  /** `namespace/service`, or `namespace/service/version` when split by version. */
  id: string;
  namespace: string;
  service: string;
  /** "*" when versions are merged. */
  version: string;
  /** Known to the registry (a proxy registered it); false for callers seen only in telemetry. */
  registered: boolean;
  /** Inbound: requests it received in the window, their rate and 5xx share. */
  requests: number;
  rps: number;
  errorRate: number;
  /** Outbound requests it sent in the window. */
  sent: number;
  health: Health;
  /** Neither received nor sent a request in the window. */
  idle: boolean;
  badges: Badge[];
  policies: PolicyRef[];
}

export interface GraphEdgeModel {
  id: string;
  source: string;
  target: string;
  requests: number;
  rps: number;
  errorRate: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  mtlsShare: number;
  /** Shown with a lock: most requests crossed the mesh over mutual TLS. */
  mtls: boolean;
  protocol: "http" | "tcp";
  /** What the calls spoke (`http1`, `grpc`, `websocket`, …), sorted. */
  protocols: TrafficProtocol[];
  /** The same as people name them: `gRPC+HTTP/1.1` (`http`/`tcp` when the API sent no list). */
  protocolLabel: string;
  codes: Record<string, number>;
  /** Share (0..1) of the caller's outbound requests in the window that went over this edge. */
  share: number;
  health: Health;
  /** What the callee's AccessPolicies say about this caller; undefined when it has none. */
  access: AccessVerdict | undefined;
  /** The callee's policies: they decide what happens on this edge. */
  policies: PolicyRef[];
}

export interface GraphModel {
  nodes: GraphNodeModel[];
  edges: GraphEdgeModel[];
}

export interface GraphInput {
  edges: readonly ObservedEdge[];
  services: readonly ServiceSummary[];
  resources: readonly ResourceItem[];
  versions: VersionMode;
  thresholds?: Thresholds;
  hideIdle?: boolean;
}

export function nodeId(namespace: string, service: string, version: string, mode: VersionMode): string {
  return mode === "split" ? `${namespace}/${service}/${version}` : `${namespace}/${service}`;
}

const serviceKey = (namespace: string, service: string) => `${namespace}/${service}`;

/** Badges and policy links of each service (`namespace/service`) from the resources in force. */
export function policiesByService(resources: readonly ResourceItem[]): Map<
  string,
  {
    policies: PolicyRef[];
    badges: Badge[];
    access: { metadata: { namespace: string }; spec: AccessPolicySpec }[];
  }
> {
  const out = new Map<
    string,
    {
      policies: PolicyRef[];
      badges: Badge[];
      access: { metadata: { namespace: string }; spec: AccessPolicySpec }[];
    }
  >();
  const entry = (ns: string, svc: string) => {
    const k = serviceKey(ns, svc);
    let e = out.get(k);
    if (e === undefined) out.set(k, (e = { policies: [], badges: [], access: [] }));
    return e;
  };
  for (const r of resources) {
    const svc = typeof r.spec.service === "string" ? r.spec.service : undefined;
    if (svc === undefined) continue; // MeshSettings and the like apply to no one service
    const e = entry(r.namespace, svc);
    e.policies.push({ kind: r.kind, namespace: r.namespace, name: r.name });
    if (r.kind === "Route") {
      const route = ZRouteSpec.safeParse(r.spec);
      if (!route.success) continue;
      for (const rule of route.data.rules) {
        if ((rule.backends?.length ?? 0) > 1 && !e.badges.some((b) => b.kind === "split")) {
          const split = rule.backends!.map((b) => `${b.version} ${b.weight ?? 0}%`).join(" · ");
          e.badges.push({
            kind: "split",
            label: "split",
            detail: `Route ${r.name} splits traffic: ${split}`,
          });
        }
        if (rule.fault !== undefined && !e.badges.some((b) => b.kind === "fault")) {
          const parts = [
            rule.fault.delay && `${rule.fault.delay.percent}% delayed ${rule.fault.delay.duration}`,
            rule.fault.abort && `${rule.fault.abort.percent}% aborted with ${rule.fault.abort.status}`,
          ].filter(Boolean);
          e.badges.push({
            kind: "fault",
            label: "fault",
            detail: `Route ${r.name} injects faults: ${parts.join(", ")}`,
          });
        }
      }
    } else if (r.kind === "AccessPolicy") {
      const spec = ZAccessPolicySpec.safeParse(r.spec);
      if (!spec.success) continue;
      e.access.push({ metadata: { namespace: r.namespace }, spec: spec.data });
      if (!e.badges.some((b) => b.kind === "access")) {
        const deny = spec.data.deny !== undefined;
        e.badges.push({
          kind: "access",
          label: deny ? "deny" : "allow",
          detail: `AccessPolicy ${r.name} ${deny ? "denies some callers" : "allows only listed callers"}`,
        });
      }
    }
  }
  return out;
}

/**
 * Nodes and edges of the graph. Registered services (every version when split) are nodes even without
 * traffic, so an idle service shows; callers seen only in telemetry ("unknown") are nodes too.
 */
export function buildGraph(input: GraphInput): GraphModel {
  const mode = input.versions;
  const t = input.thresholds ?? DEFAULT_THRESHOLDS;
  const policies = policiesByService(input.resources);
  const nodes = new Map<string, GraphNodeModel & { errors: number }>();
  const node = (namespace: string, service: string, version: string, registered: boolean) => {
    const v = mode === "split" ? version : "*";
    const id = nodeId(namespace, service, v, mode);
    let n = nodes.get(id);
    if (n === undefined) {
      const p = policies.get(serviceKey(namespace, service));
      n = {
        id,
        namespace,
        service,
        version: v,
        registered,
        requests: 0,
        rps: 0,
        errorRate: 0,
        sent: 0,
        health: "idle",
        idle: true,
        badges: p?.badges ?? [],
        policies: p?.policies ?? [],
        errors: 0,
      };
      nodes.set(id, n);
    }
    if (registered) n.registered = true;
    return n;
  };

  for (const s of input.services) {
    if (mode === "merged" || s.versions.length === 0) node(s.namespace, s.name, "*", true);
    else for (const v of s.versions) node(s.namespace, s.name, v, true);
  }

  const edges: GraphEdgeModel[] = [];
  const outbound = new Map<string, number>();
  for (const e of input.edges) {
    const src = node(e.source.namespace, e.source.service, e.source.version, false);
    const dst = node(e.destination.namespace, e.destination.service, e.destination.version, false);
    dst.requests += e.requests;
    dst.rps += e.rps;
    dst.errors += e.errorRate * e.requests;
    src.sent += e.requests;
    outbound.set(src.id, (outbound.get(src.id) ?? 0) + e.requests);
    const access = policies.get(serviceKey(dst.namespace, dst.service))?.access ?? [];
    edges.push({
      id: `${src.id}->${dst.id}`,
      source: src.id,
      target: dst.id,
      requests: e.requests,
      rps: e.rps,
      errorRate: e.errorRate,
      p50Ms: e.p50Ms,
      p95Ms: e.p95Ms,
      p99Ms: e.p99Ms,
      mtlsShare: e.mtlsShare,
      mtls: e.requests > 0 && e.mtlsShare >= 0.5,
      protocol: e.protocol,
      protocols: e.protocols,
      protocolLabel: protocolBadge(e.protocols) || e.protocol,
      codes: e.codes,
      share: 0,
      health: health(e.requests, e.errorRate, t),
      access:
        access.length > 0
          ? accessVerdict(
              access,
              { namespace: src.namespace, service: src.service },
              // A TCP edge is judged by connection, as the callee's sidecar does (no method or path to match).
              e.protocols.length > 0 && e.protocols.every((p) => p === "tcp") ? "tcp" : "http",
            )
          : undefined,
      policies: dst.policies,
    });
  }
  for (const e of edges) {
    const total = outbound.get(e.source) ?? 0;
    e.share = total > 0 ? e.requests / total : 0;
  }

  let out: GraphNodeModel[] = [...nodes.values()].map(({ errors, ...n }) => {
    n.errorRate = n.requests > 0 ? errors / n.requests : 0;
    n.idle = n.requests === 0 && n.sent === 0;
    n.health = health(n.requests, n.errorRate, t);
    return n;
  });
  if (input.hideIdle) out = out.filter((n) => !n.idle);
  out.sort((a, b) => a.id.localeCompare(b.id));
  edges.sort((a, b) => a.id.localeCompare(b.id));
  return { nodes: out, edges };
}

// --- labels and motion -------------------------------------------------------------------------------------

export type EdgeLabelKind = "rps" | "errors" | "p50" | "p95" | "p99" | "share";
export const EDGE_LABELS: { value: EdgeLabelKind; label: string }[] = [
  { value: "rps", label: "Requests/s" },
  { value: "errors", label: "Error %" },
  { value: "p50", label: "p50 latency" },
  { value: "p95", label: "p95 latency" },
  { value: "p99", label: "p99 latency" },
  { value: "share", label: "Traffic share" },
];

export function edgeLabel(e: GraphEdgeModel, kind: EdgeLabelKind): string {
  // Plain HTTP/1.1 is the common case and goes unsaid; anything else is named on the edge (`· gRPC`).
  const badge = e.protocols.length === 1 && e.protocols[0] === "http1" ? "" : protocolBadge(e.protocols);
  return badge === "" ? edgeNumber(e, kind) : `${edgeNumber(e, kind)} · ${badge}`;
}

function edgeNumber(e: GraphEdgeModel, kind: EdgeLabelKind): string {
  switch (kind) {
    case "rps":
      return formatRps(e.rps);
    case "errors":
      return `${formatPercent(e.errorRate)} 5xx`;
    case "p50":
      return `p50 ${formatMs(e.p50Ms)}`;
    case "p95":
      return `p95 ${formatMs(e.p95Ms)}`;
    case "p99":
      return `p99 ${formatMs(e.p99Ms)}`;
    case "share":
      return formatPercent(e.share);
  }
}

const PROTOCOL_NAMES: Record<TrafficProtocol, string> = {
  http1: "HTTP/1.1",
  http2: "HTTP/2",
  grpc: "gRPC",
  websocket: "WebSocket",
  tcp: "TCP",
};

/** `gRPC`, `gRPC+HTTP/1.1`: the protocols an edge carried, as people name them. */
export function protocolBadge(protocols: readonly TrafficProtocol[]): string {
  return protocols.map((p) => PROTOCOL_NAMES[p]).join("+");
}

/** Seconds one dash takes along an edge: faster for busier edges, 2 s at 0.1 req/s down to 0.2 s. */
export function animationSeconds(rps: number): number {
  if (rps <= 0) return 0;
  const s = 2 - 0.6 * Math.log10(1 + rps * 10);
  return Math.max(0.2, Math.min(2, Math.round(s * 100) / 100));
}

/** Whether a node matches the find box: a case-insensitive substring of namespace/service/version. */
export function matchesFind(n: GraphNodeModel, find: string): boolean {
  const q = find.trim().toLowerCase();
  if (q === "") return false;
  return n.id.toLowerCase().includes(q);
}
