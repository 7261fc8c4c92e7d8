import { z } from "zod";
import { fieldIssue, inDocument, zodIssues, type FieldIssue, type IssuePath } from "../errors.js";
import {
  RESOURCE_API_VERSION,
  RESOURCE_KINDS,
  type ResourceKind,
  type ResourceValidation,
} from "./common.js";
import type { ValidationContext } from "./context.js";
import { ZRouteResource } from "./route/schema.js";
import { validateRoute } from "./route/validate.js";
import { ZDestinationPolicyResource } from "./destination-policy/schema.js";
import { validateDestinationPolicy } from "./destination-policy/validate.js";
import { ZAccessPolicyResource } from "./access-policy/schema.js";
import { validateAccessPolicy } from "./access-policy/validate.js";
import { ZMeshSettingsResource } from "./mesh-settings/schema.js";
import { validateMeshSettings } from "./mesh-settings/validate.js";

/**
 * Any resource, by kind. The API, the console's forms, `trellis apply -f` and the compiler all parse with
 * these schemas.
 *
 * When to edit this file: when a kind is added (its schema in `RESOURCE_SCHEMAS`, its validator in
 * `validateResource`, its name in `RESOURCE_KINDS` and in prisma's `ResourceKind`).
 */
export const ZResource = z.discriminatedUnion("kind", [
  ZRouteResource,
  ZDestinationPolicyResource,
  ZAccessPolicyResource,
  ZMeshSettingsResource,
]);
export type Resource = z.infer<typeof ZResource>;

/** Each kind's schema: it parses resources of that kind, and the console's forms are built from it. */
export const RESOURCE_SCHEMAS = {
  Route: ZRouteResource,
  DestinationPolicy: ZDestinationPolicyResource,
  AccessPolicy: ZAccessPolicyResource,
  MeshSettings: ZMeshSettingsResource,
} as const satisfies Record<ResourceKind, z.ZodType>;

export type ParseResourceResult = { ok: true; resource: Resource } | { ok: false; issues: FieldIssue[] };

/**
 * A resource as the database keeps it (a Resource row, or a change's operation): kind, namespace and name in
 * columns of their own, the spec as JSON. The envelope is not stored; these functions restore it.
 */
export interface StoredResource {
  kind: string;
  namespace: string;
  name: string;
  spec: unknown;
}

/** The document a stored resource stands for, as a user would have written it. */
export function storedDocument(r: StoredResource): unknown {
  return {
    apiVersion: RESOURCE_API_VERSION,
    kind: r.kind,
    metadata: { name: r.name, namespace: r.namespace },
    spec: r.spec,
  };
}

/**
 * A stored resource parsed back. Used by the control plane (what it compiles) and by services (what a change
 * is judged against): both must see the same resources, so both restore them here. Stored specs were valid
 * when written, but a schema can tighten since; callers skip a row that no longer parses.
 */
export function parseStoredResource(r: StoredResource): ParseResourceResult {
  return parseResource(storedDocument(r));
}

/**
 * Parses one resource from an unknown value (parsed YAML or JSON). Problems come with the paths users write
 * (`spec.rules[0].backends[1].weight`). The envelope is checked first, so a wrong `kind` gets one clear issue
 * instead of one per kind.
 */
export function parseResource(value: unknown): ParseResourceResult {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return {
      ok: false,
      issues: [fieldIssue({ path: [] }, "must be an object with apiVersion, kind, metadata and spec")],
    };
  }
  const v = value as Record<string, unknown>;
  const envelope: FieldIssue[] = [];
  if (v.apiVersion !== RESOURCE_API_VERSION)
    envelope.push(fieldIssue({ path: ["apiVersion"] }, `must be ${RESOURCE_API_VERSION}`));
  const kind = v.kind;
  if (typeof kind !== "string" || !(RESOURCE_KINDS as readonly string[]).includes(kind)) {
    envelope.push(fieldIssue({ path: ["kind"] }, `must be one of ${RESOURCE_KINDS.join(", ")}`));
  }
  if (envelope.length > 0) return { ok: false, issues: envelope };
  const r = RESOURCE_SCHEMAS[kind as ResourceKind].safeParse(value);
  if (!r.success) return { ok: false, issues: zodIssues(r.error) };
  const nul = nulIssues(r.data, []);
  if (nul.length > 0) return { ok: false, issues: nul };
  return { ok: true, resource: r.data as Resource };
}

/**
 * NUL anywhere in a spec, key or value: specs are stored as written (PostgreSQL jsonb, which cannot hold
 * U+0000: the insert failed as a 500) and no field of any kind has a use for it.
 */
function nulIssues(value: unknown, path: IssuePath): FieldIssue[] {
  if (typeof value === "string")
    return value.includes("\u0000") ? [fieldIssue({ path }, "must not contain NUL (U+0000)")] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => nulIssues(v, [...path, i]));
  if (typeof value === "object" && value !== null)
    return Object.entries(value).flatMap(([k, v]) =>
      k.includes("\u0000")
        ? [fieldIssue({ path }, "must not have a key containing NUL (U+0000)")]
        : nulIssues(v, [...path, k]),
    );
  return [];
}

export type ParseResourceDocumentsResult =
  { ok: true; resources: Resource[] } | { ok: false; issues: FieldIssue[] };

/**
 * Parses every document of a multi-document file (`trellis apply -f`). Empty documents (`null`, as YAML
 * parsers return for a stray `---`) are skipped but keep their index. Two documents for the same kind,
 * namespace and name are an error. All documents are checked, so one run reports every problem.
 */
export function parseResourceDocuments(documents: readonly unknown[]): ParseResourceDocumentsResult {
  const issues: FieldIssue[] = [];
  const resources: Resource[] = [];
  const seen = new Map<string, number>();
  documents.forEach((doc, index) => {
    if (doc === null || doc === undefined) return;
    const r = parseResource(doc);
    if (!r.ok) {
      issues.push(...r.issues.map((i) => inDocument(i, index)));
      return;
    }
    const key = resourceKey(r.resource);
    const prev = seen.get(key);
    if (prev !== undefined)
      issues.push(
        fieldIssue({ doc: index, path: ["metadata", "name"] }, `duplicates document [${prev}] (${key})`),
      );
    else seen.set(key, index);
    resources.push(r.resource);
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, resources };
}

/** `Route/default/reviews-canary`: what identifies a resource (and its row in the Resource table). */
export function resourceKey(r: Pick<Resource, "kind" | "metadata">): string {
  return `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`;
}

/**
 * All checks of one resource: the schema first (its issues are errors), then the kind's semantic checks with
 * whatever the context knows. `errors` block the change; `warnings` are shown to the author and approvers.
 * Each kind's validator documents its rules and their severities.
 */
export function validateResource(input: unknown, ctx: ValidationContext = {}): ResourceValidation {
  const parsed = parseResource(input);
  if (!parsed.ok) return { errors: parsed.issues, warnings: [] };
  const r = parsed.resource;
  switch (r.kind) {
    case "Route":
      return validateRoute(r, ctx);
    case "DestinationPolicy":
      return validateDestinationPolicy(r, ctx);
    case "AccessPolicy":
      return validateAccessPolicy(r, ctx);
    case "MeshSettings":
      return validateMeshSettings(r, ctx);
  }
}
