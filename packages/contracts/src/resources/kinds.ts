// The resource kinds and their API version, without zod: the console prints them (YAML of a diff, a kind
// filter) on pages that parse nothing, and importing them from common.ts would bring the schema library along
// (decision 021). common.ts builds ZResourceKind from the same list, so a kind is still spelled once.

/** The only API version so far. A breaking change to any kind gets a new version. */
export const RESOURCE_API_VERSION = "trellis.dev/v1alpha1";

export const RESOURCE_KINDS = ["Route", "DestinationPolicy", "AccessPolicy", "MeshSettings"] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];
