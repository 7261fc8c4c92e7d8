// The demo's initial state: what `trellis up --demo` seeds once (as an applied system change) before the apps
// join. mTLS strict, and every call to `reviews` goes to v1, so the first thing to try is a canary to v2.
import {
  MESH_SETTINGS_NAME,
  MESH_SETTINGS_NAMESPACE,
  RESOURCE_API_VERSION,
  type MeshSettingsResource,
  type RouteResource,
} from "@trellis/contracts";

export const DEMO_NAMESPACE = "demo";

/** Resource documents, as `trellis apply -f` would read them (typed by the contracts' schemas). */
export function demoResources(): [MeshSettingsResource, RouteResource] {
  return [
    {
      apiVersion: RESOURCE_API_VERSION,
      kind: "MeshSettings",
      metadata: { name: MESH_SETTINGS_NAME, namespace: MESH_SETTINGS_NAMESPACE },
      // Every front-page request traced: the demo is small, and a newcomer should find traces at once.
      spec: { mtls: { mode: "strict" }, tracing: { samplingPercent: 100 } },
    },
    {
      apiVersion: RESOURCE_API_VERSION,
      kind: "Route",
      metadata: { name: "reviews", namespace: DEMO_NAMESPACE },
      spec: { service: "reviews", rules: [{ backends: [{ version: "v1", weight: 100 }] }] },
    },
  ];
}
