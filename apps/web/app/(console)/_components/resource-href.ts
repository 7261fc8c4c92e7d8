// Where the console shows one resource. Apart from yaml.ts so that a page that only links to resources (the
// graph's side panel, lists) does not load the YAML library with it.
export interface ResourceKey {
  kind: string;
  namespace: string;
  name: string;
}

export function resourceHref(key: ResourceKey): string {
  return `/resources/${encodeURIComponent(key.kind)}/${encodeURIComponent(key.namespace)}/${encodeURIComponent(key.name)}`;
}
