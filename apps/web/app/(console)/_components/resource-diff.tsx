"use client";
// A resource before and after, as the YAML users read and write, side by side. Pages take it through
// `LazyResourceDiff` (resource-diff-lazy.tsx): the YAML printer and the line differ are the bulk of this code
// and are needed only once a diff is on screen, so they load in a chunk of their own.
import type { ResourceKey } from "./resource-href";
import { resourceYaml } from "./yaml";
import { YamlDiff } from "./yaml-diff";

type Spec = Record<string, unknown> | null;

export function ResourceDiff(props: { resource: ResourceKey; before: Spec; after: Spec; label: string }) {
  return (
    <YamlDiff
      label={props.label}
      before={resourceYaml(props.resource, props.before)}
      after={resourceYaml(props.resource, props.after)}
    />
  );
}
