// Starting points for the editor: what a user most often writes, with the fields to fill in. Keys in the order
// the schemas declare them (name before namespace), as the form writes the keys it adds.

export function template(kind: string, namespace = "default", service = "my-service"): string {
  const head = (name: string) =>
    `apiVersion: trellis.dev/v1alpha1\nkind: ${kind}\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\n`;
  switch (kind) {
    case "DestinationPolicy":
      return `${head(service)}spec:\n  service: ${service}\n  loadBalancer: { type: leastRequest }\n  circuitBreaker: { maxConnections: 100, maxPendingRequests: 100 }\n  outlierDetection: { consecutive5xx: 5, baseEjectionTime: 30s }\n`;
    case "AccessPolicy":
      return `${head(`${service}-access`)}spec:\n  service: ${service}\n  allow:\n    - from: [{ service: frontend, namespace: ${namespace} }]\n`;
    case "MeshSettings":
      return `apiVersion: trellis.dev/v1alpha1\nkind: MeshSettings\nmetadata:\n  name: mesh\n  namespace: trellis-system\nspec:\n  mtls: { mode: strict }\n`;
    default:
      return `${head(service)}spec:\n  service: ${service}\n  rules:\n    - backends:\n        - { version: v1, weight: 90 }\n        - { version: v2, weight: 10 }\n`;
  }
}
