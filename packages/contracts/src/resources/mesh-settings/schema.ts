import { z } from "zod";
import { RESOURCE_API_VERSION, zDuration } from "../common.js";
import { ZRetrySpec } from "../route/schema.js";
import { ZOutboundTrafficPolicy } from "../../proxy-config.js";

/**
 * MeshSettings: settings of the whole mesh. There is at most one, always named `mesh` in the namespace
 * `trellis-system` (the namespace the control plane's own settings live in), so "which settings win" never
 * arises and its history is one resource's history. Without it, every field has its default.
 *
 * When to edit this file: when a mesh-wide knob appears. Add the field with a doc comment naming its default (the value goes in `../defaults.ts`) and
 * its translation in the control plane's compiler (`compiler/mesh-settings.ts`).
 */

export const MESH_SETTINGS_NAME = "mesh";
export const MESH_SETTINGS_NAMESPACE = "trellis-system";
export const DEFAULT_TRUST_DOMAIN = "trellis.local";

export const ZMeshSettingsSpec = z.strictObject({
  /**
   * SPIFFE trust domain: identities are `spiffe://<trustDomain>/ns/<namespace>/sa/<service>`. Default
   * DEFAULT_TRUST_DOMAIN. Changing it changes every identity, so every workload needs a new certificate.
   */
  trustDomain: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, "must be lowercase letters, digits, '.' and '-'")
    .optional(),
  /** Mutual TLS between workloads. */
  mtls: z
    .strictObject({
      /**
       * `strict` (MESH_SETTINGS_DEFAULTS.mtlsMode): workloads accept only mTLS. `permissive`: they also accept plain text, for moving
       * services into the mesh; callers inside the mesh still use mTLS.
       */
      mode: z.enum(["strict", "permissive"]),
    })
    .optional(),
  /**
   * What sidecars do with captured connections to destinations that are no service of the mesh: `allowAny`
   * passes them through to where the app dialled; `registryOnly` refuses them (telemetry counts them under
   * destination `unknown`). Default: MESH_SETTINGS_DEFAULTS.outboundTrafficPolicy.
   */
  outboundTrafficPolicy: ZOutboundTrafficPolicy.optional(),
  /** What proxies report. */
  telemetry: z
    .strictObject({
      /** One JSON line per request on each proxy's stdout. Default: MESH_SETTINGS_DEFAULTS.accessLog. */
      accessLog: z.boolean().optional(),
      /** How often proxies send their traffic counters to the control plane, 1s–5m. Default: MESH_SETTINGS_DEFAULTS.reportInterval. */
      reportInterval: zDuration({ min: 1_000, max: 300_000 }).optional(),
    })
    .optional(),
  /** Spans from every sidecar (OTLP), kept by the control plane. */
  tracing: z
    .strictObject({
      /**
       * Percent of new traces sampled, 0–100 (`0.5` is one in two hundred). A request that arrives with a
       * `traceparent` keeps its caller's decision, so a trace is recorded by every hop or by none; `0` records
       * only the traces an app or a gateway started sampled. Default: MESH_SETTINGS_DEFAULTS.tracingSamplingPercent.
       */
      samplingPercent: z.number().min(0).max(100).optional(),
    })
    .optional(),
  /** Defaults for Route rules that do not say, and for services without a Route. */
  defaults: z
    .strictObject({
      /** Time limit of a request until response headers; `0s` means none. Default: MESH_SETTINGS_DEFAULTS.timeout. */
      timeout: zDuration().optional(),
      /** Retries. Default: none. */
      retries: ZRetrySpec.optional(),
    })
    .optional(),
});
export type MeshSettingsSpec = z.infer<typeof ZMeshSettingsSpec>;

export const ZMeshSettingsResource = z.strictObject({
  /** Always `trellis.dev/v1alpha1`. */
  apiVersion: z.literal(RESOURCE_API_VERSION),
  /** Always `MeshSettings`. */
  kind: z.literal("MeshSettings"),
  /** Always `{ name: mesh, namespace: trellis-system }`. */
  metadata: z.strictObject({
    /** Always `mesh`. */
    name: z.literal(MESH_SETTINGS_NAME, {
      error: `must be "${MESH_SETTINGS_NAME}": a mesh has one MeshSettings`,
    }),
    /** Always `trellis-system`. */
    namespace: z.literal(MESH_SETTINGS_NAMESPACE, { error: `must be "${MESH_SETTINGS_NAMESPACE}"` }),
  }),
  /** The settings. */
  spec: ZMeshSettingsSpec,
});
export type MeshSettingsResource = z.infer<typeof ZMeshSettingsResource>;
