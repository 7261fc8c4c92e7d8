// What the contracts' zod schemas say about one field of a resource: which widget the form shows for it, the
// choices it offers, whether it may be left out, and where a new key goes in the YAML. The form keeps no rules
// of its own: a field's type, its choices and the order of keys come from @trellis/contracts, and the issues
// come from the server's validation, which parses with the very same schemas.
//
// When to edit this file: when a resource schema starts using a zod construct not handled in `unwrap`/`step`
// (a pipe, a tuple, …). A new field in a schema needs no change here, only a line of layout in the form.
import { z } from "zod";
import { RESOURCE_KINDS, RESOURCE_SCHEMAS, type ResourceKind } from "@trellis/contracts";

/** Where a value sits in a resource document: `["spec", "rules", 0, "backends"]`. */
export type Path = readonly (string | number)[];

export function isResourceKind(kind: unknown): kind is ResourceKind {
  return typeof kind === "string" && (RESOURCE_KINDS as readonly string[]).includes(kind);
}

/** The schema a document of this kind parses with, or null for a kind Trellis does not know. */
export function resourceSchema(kind: unknown): z.ZodType | null {
  return isResourceKind(kind) ? RESOURCE_SCHEMAS[kind] : null;
}

/** How the form edits one field, read off its schema. */
export type FieldSpec =
  | { kind: "text"; optional: boolean }
  | { kind: "number"; optional: boolean }
  | { kind: "boolean"; optional: boolean }
  /** One of `options` (a zod enum, or a discriminated union's discriminator). */
  | { kind: "choice"; options: readonly string[]; optional: boolean }
  /** Any subset of `options` (an array of a zod enum). */
  | { kind: "choices"; options: readonly string[]; optional: boolean }
  /** A list of strings or numbers, written comma-separated. */
  | { kind: "list"; item: "text" | "number"; optional: boolean }
  /** A literal: shown, not edited. */
  | { kind: "fixed"; value: string }
  /** Something the form has no widget for (an object, a record): edit it in YAML. */
  | { kind: "other"; optional: boolean };

function unwrap(s: z.ZodType): { schema: z.ZodType; optional: boolean } {
  let optional = false;
  let cur = s;
  for (;;) {
    if (cur instanceof z.ZodOptional) {
      optional = true;
      cur = cur.unwrap() as z.ZodType;
    } else if (cur instanceof z.ZodDefault || cur instanceof z.ZodNullable) {
      cur = cur.unwrap() as z.ZodType;
    } else return { schema: cur, optional };
  }
}

/** The object options of a union (a discriminated union's variants). */
function objectOptions(s: z.ZodType): z.ZodObject[] {
  if (s instanceof z.ZodObject) return [s];
  if (s instanceof z.ZodUnion)
    return (s.options as z.ZodType[]).flatMap((o) => objectOptions(unwrap(o).schema));
  return [];
}

/** The values a key takes across a union's variants, when it is a literal in each of them (a discriminator). */
function discriminatorValues(options: readonly z.ZodObject[], key: string): string[] | null {
  const values: string[] = [];
  for (const o of options) {
    const f = o.shape[key] as z.ZodType | undefined;
    if (!(f instanceof z.ZodLiteral)) return null;
    values.push(String(f.value));
  }
  return values;
}

/** One step down a path. A union's discriminator comes back as an enum of its values. */
function step(s: z.ZodType, key: string | number): z.ZodType | undefined {
  const { schema } = unwrap(s);
  if (typeof key === "number")
    return schema instanceof z.ZodArray ? (schema.element as z.ZodType) : undefined;
  if (schema instanceof z.ZodRecord) return schema.valueType as z.ZodType;
  const options = objectOptions(schema);
  if (options.length > 1) {
    const values = discriminatorValues(options, key);
    if (values) return z.enum(values as [string, ...string[]]);
  }
  for (const o of options) if (key in o.shape) return o.shape[key] as z.ZodType;
  return undefined;
}

/** The schema at `path` (with its optional wrapper), or undefined where the schema has no such field. */
export function schemaAt(root: z.ZodType, path: Path): z.ZodType | undefined {
  let cur: z.ZodType | undefined = root;
  for (const key of path) {
    if (cur === undefined) return undefined;
    cur = step(cur, key);
  }
  return cur;
}

/** How the form edits the field at `path`. */
export function fieldSpec(root: z.ZodType, path: Path): FieldSpec {
  const at = schemaAt(root, path);
  if (at === undefined) return { kind: "other", optional: true };
  const { schema, optional } = unwrap(at);
  if (schema instanceof z.ZodLiteral) return { kind: "fixed", value: String(schema.value) };
  if (schema instanceof z.ZodString) return { kind: "text", optional };
  if (schema instanceof z.ZodNumber) return { kind: "number", optional };
  if (schema instanceof z.ZodBoolean) return { kind: "boolean", optional };
  if (schema instanceof z.ZodEnum) return { kind: "choice", options: schema.options.map(String), optional };
  if (schema instanceof z.ZodArray) {
    const item = unwrap(schema.element as z.ZodType).schema;
    if (item instanceof z.ZodEnum) return { kind: "choices", options: item.options.map(String), optional };
    if (item instanceof z.ZodString) return { kind: "list", item: "text", optional };
    if (item instanceof z.ZodNumber) return { kind: "list", item: "number", optional };
  }
  return { kind: "other", optional };
}

/**
 * The keys of the object at `path` in the order its schema declares them (for a union, every variant's keys,
 * first seen first). A key the form adds goes before the first later key already there, so a resource built
 * in the form reads like one written from the schema's documentation.
 */
export function keyOrder(root: z.ZodType, path: Path): string[] {
  const at = path.length === 0 ? root : schemaAt(root, path);
  if (at === undefined) return [];
  const keys: string[] = [];
  for (const o of objectOptions(unwrap(at).schema))
    for (const k of Object.keys(o.shape)) if (!keys.includes(k)) keys.push(k);
  return keys;
}

/**
 * The keys of the variant that `value` (the object at `path`) picks by its discriminator, such as a load
 * balancer's `{type: ringHash, header}`; for a plain object, its keys; none while no variant is picked.
 */
export function variantKeys(root: z.ZodType, path: Path, value: unknown): string[] {
  const at = schemaAt(root, path);
  if (at === undefined) return [];
  const options = objectOptions(unwrap(at).schema);
  if (options.length === 1) return Object.keys(options[0]!.shape);
  const picked = options.find((o) =>
    Object.entries(o.shape).some(
      ([k, f]) =>
        f instanceof z.ZodLiteral &&
        typeof value === "object" &&
        value !== null &&
        (value as Record<string, unknown>)[k] === f.value,
    ),
  );
  return picked ? Object.keys(picked.shape) : [];
}
