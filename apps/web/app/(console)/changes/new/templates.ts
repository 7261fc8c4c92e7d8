// Starting points for the editor: what a user most often writes, with the fields to fill in.

export function template(kind: string, namespace = "default", service = "my-service"): string {
  const head = `apiVersion: trellis.dev/v1alpha1\nkind: ${kind}\nmetadata:\n  namespace: ${namespace}\n`;
  switch (kind) {
    case "DestinationPolicy":
      return `${head}  name: ${service}\nspec:\n  service: ${service}\n  loadBalancer: { type: leastRequest }\n  circuitBreaker: { maxConnections: 100, maxPendingRequests: 100 }\n  outlierDetection: { consecutive5xx: 5, baseEjectionTime: 30s }\n`;
    case "AccessPolicy":
      return `${head}  name: ${service}-access\nspec:\n  service: ${service}\n  allow:\n    - from: [{ namespace: ${namespace}, service: frontend }]\n`;
    case "MeshSettings":
      return `apiVersion: trellis.dev/v1alpha1\nkind: MeshSettings\nmetadata:\n  namespace: trellis-system\n  name: mesh\nspec:\n  mtls: { mode: strict }\n`;
    default:
      return `${head}  name: ${service}\nspec:\n  service: ${service}\n  rules:\n    - backends:\n        - { version: v1, weight: 90 }\n        - { version: v2, weight: 10 }\n`;
  }
}
