import { describe, expect, it } from "vitest";
import { parseResource, validateResource } from "../../index.js";

const mesh = (metadata: unknown, spec: unknown) => ({
  apiVersion: "trellis.dev/v1alpha1",
  kind: "MeshSettings",
  metadata,
  spec,
});
const at = { name: "mesh", namespace: "trellis-system" };

describe("MeshSettings", () => {
  it("exists once, as trellis-system/mesh", () => {
    expect(parseResource(mesh(at, {})).ok).toBe(true);
    const r = parseResource(mesh({ name: "settings", namespace: "default" }, {}));
    expect(r.ok ? [] : r.issues).toEqual([
      {
        path: "metadata.name",
        at: { path: ["metadata", "name"] },
        message: 'must be "mesh": a mesh has one MeshSettings',
      },
      {
        path: "metadata.namespace",
        at: { path: ["metadata", "namespace"] },
        message: 'must be "trellis-system"',
      },
    ]);
  });

  it("checks its fields and default retries", () => {
    const r = parseResource(
      mesh(at, { trustDomain: "Corp", mtls: { mode: "off" }, telemetry: { reportInterval: "100ms" } }),
    );
    expect(r.ok ? [] : r.issues.map((i) => i.path)).toEqual([
      "spec.trustDomain",
      "spec.mtls.mode",
      "spec.telemetry.reportInterval",
    ]);
    const v = validateResource(
      mesh(at, {
        mtls: { mode: "permissive" },
        defaults: {
          timeout: "1s",
          retries: { attempts: 2, perTryTimeout: "2s", retryOn: ["retriable-status-codes"] },
        },
      }),
    );
    expect(v.errors).toEqual([
      {
        path: "spec.defaults.retries.retriableStatusCodes",
        at: { path: ["spec", "defaults", "retries", "retriableStatusCodes"] },
        message: "list the status codes to retry (retryOn has retriable-status-codes)",
      },
    ]);
    expect(v.warnings.map((w) => w.path)).toEqual(["spec.mtls.mode", "spec.defaults.retries.perTryTimeout"]);
  });
});
