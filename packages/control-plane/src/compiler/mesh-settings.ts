import {
  DEFAULT_REPORT_INTERVAL_MS,
  DEFAULT_ROUTE_TIMEOUT_MS,
  DEFAULT_TRUST_DOMAIN,
  durationMs,
  MESH_SETTINGS_DEFAULTS,
  type MeshSettingsSpec,
  type OutboundTrafficPolicy,
  type Resource,
  type RetrySpec,
} from "@trellis/contracts";

/** The mesh-wide settings with every default applied: what the other compiler parts read. */
export interface MeshDefaults {
  trustDomain: string;
  mtlsMode: "strict" | "permissive";
  outboundTrafficPolicy: OutboundTrafficPolicy;
  accessLog: boolean;
  /** Proxies' telemetry report interval. The proxy config has no field for it yet, so it is resolved but not compiled. */
  reportIntervalMs: number;
  /** Percent of new traces the proxies sample. */
  tracingSamplingPercent: number;
  /** Route timeout when a rule says none. */
  timeoutMs: number;
  /** Retries when a rule says none; undefined: none. */
  retries: RetrySpec | undefined;
}

/** Resolves MeshSettings (the first one, should a broken store hold several) into defaults. */
export function meshDefaults(resources: readonly Resource[]): MeshDefaults {
  let spec: MeshSettingsSpec = {};
  for (const r of resources) {
    if (r.kind === "MeshSettings") {
      spec = r.spec;
      break;
    }
  }
  const timeout = spec.defaults?.timeout;
  const interval = spec.telemetry?.reportInterval;
  return {
    trustDomain: spec.trustDomain ?? DEFAULT_TRUST_DOMAIN,
    mtlsMode: spec.mtls?.mode ?? MESH_SETTINGS_DEFAULTS.mtlsMode,
    outboundTrafficPolicy: spec.outboundTrafficPolicy ?? MESH_SETTINGS_DEFAULTS.outboundTrafficPolicy,
    accessLog: spec.telemetry?.accessLog ?? MESH_SETTINGS_DEFAULTS.accessLog,
    reportIntervalMs: interval === undefined ? DEFAULT_REPORT_INTERVAL_MS : durationMs(interval),
    tracingSamplingPercent: spec.tracing?.samplingPercent ?? MESH_SETTINGS_DEFAULTS.tracingSamplingPercent,
    timeoutMs: timeout === undefined ? DEFAULT_ROUTE_TIMEOUT_MS : durationMs(timeout),
    retries: spec.defaults?.retries,
  };
}
