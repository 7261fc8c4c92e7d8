// Resources as users read and write them: Kubernetes-style YAML documents. One place turns a stored spec into
// the text the console shows, so the diff, the editor and the resource page all print it the same way.
import { stringify } from "yaml";
import { RESOURCE_API_VERSION } from "@trellis/contracts";
import type { ResourceKey } from "./resource-href";

export function resourceYaml(key: ResourceKey, spec: Record<string, unknown> | null): string {
  if (spec === null) return "";
  return stringify(
    {
      apiVersion: RESOURCE_API_VERSION,
      kind: key.kind,
      metadata: { name: key.name, namespace: key.namespace },
      spec,
    },
    { lineWidth: 0 },
  );
}
