// What a change request does, as plain data: the operations from the API's input (objects or YAML text) after
// their schemas have been checked, and the same operations read back from the database. Everything else
// (validation, impact, apply) works on `PlannedOp`s, so it does not care where they came from.
import { parseAllDocuments } from "yaml";
import {
  MAX_CHANGE_OPERATIONS,
  YAML_DOCUMENT,
  fieldIssue,
  inDocument,
  parseResource,
  parseResourceDocuments,
  type ChangeOperationInput,
  type DocumentPath,
  type FieldIssue,
  type Resource,
  type ResourceKind,
} from "@trellis/contracts";

export type Spec = Record<string, unknown>;

export interface PlannedOp {
  action: "create" | "update" | "delete";
  kind: ResourceKind;
  namespace: string;
  name: string;
  /** What the operation writes; null for a delete. */
  spec: Spec | null;
  /** The revision the author saw; null for a create (the resource must not exist). */
  baseRevision: number | null;
}

export interface ResourceKey {
  kind: ResourceKind;
  namespace: string;
  name: string;
}

export function keyOf(r: ResourceKey): string {
  return `${r.kind}/${r.namespace}/${r.name}`;
}

/**
 * Where a plan's operations came from, so that their issues say so: operation `i` is document `doc(i)` of the
 * change (`at.doc`), and the text of an issue's path names it with `operation` when the issue is about the
 * operation as a whole (stale, a duplicate) and with `resource` when it is inside its resource.
 */
export interface PlanSource {
  doc: (i: number) => number;
  operation: DocumentPath;
  resource: DocumentPath;
}

const OPERATION: DocumentPath = (i) => ["operations", i];

/** A change as stored, or read back: `operations[0]`, `operations[0].spec.service`. */
export const STORED_OPERATIONS: PlanSource = { doc: (i) => i, operation: OPERATION, resource: OPERATION };

/** Operations as a request gives them: `operations[0]`, `operations[0].resource.spec.service`. */
export const INPUT_OPERATIONS: PlanSource = {
  doc: (i) => i,
  operation: OPERATION,
  resource: (i) => ["operations", i, "resource"],
};

/** YAML documents (empty ones skipped, so the operations' documents are `documentIndexes`): `[2].spec.service`. */
export function yamlDocuments(documentIndexes: readonly number[]): PlanSource {
  return { doc: (i) => documentIndexes[i] ?? i, operation: YAML_DOCUMENT, resource: YAML_DOCUMENT };
}

/** An issue about operation `i` as a whole. */
export function operationIssue(source: PlanSource, i: number, message: string): FieldIssue {
  return fieldIssue({ doc: source.doc(i), path: [] }, message, source.operation);
}

/** An issue found inside the resource of operation `i` (its path relative to the resource). */
export function resourceIssue(source: PlanSource, i: number, issue: FieldIssue): FieldIssue {
  return inDocument(issue, source.doc(i), source.resource);
}

/** Namespaces an operation list touches, sorted. */
export function namespacesOf(ops: readonly ResourceKey[]): string[] {
  return [...new Set(ops.map((o) => o.namespace))].sort();
}

/**
 * Operations given as objects. Each resource document is parsed with its kind's schema; problems are
 * reported with paths such as `operations[1].spec.rules[0].backends[1].weight`. The same resource twice in
 * one change is an error (its second operation would silently win).
 */
export function planFromOperations(input: readonly ChangeOperationInput[]): {
  ops: PlannedOp[];
  issues: FieldIssue[];
} {
  const ops: PlannedOp[] = [];
  const issues: FieldIssue[] = [];
  const seen = new Map<string, number>();
  input.forEach((op, i) => {
    let planned: PlannedOp;
    if (op.action === "delete") {
      planned = {
        action: "delete",
        kind: op.kind,
        namespace: op.namespace,
        name: op.name,
        spec: null,
        baseRevision: op.baseRevision,
      };
    } else {
      const parsed = parseResource(op.resource);
      if (!parsed.ok) {
        issues.push(...parsed.issues.map((x) => resourceIssue(INPUT_OPERATIONS, i, x)));
        return;
      }
      planned = fromResource(parsed.resource, op.action, op.action === "update" ? op.baseRevision : null);
    }
    const key = keyOf(planned);
    const prev = seen.get(key);
    if (prev !== undefined) {
      issues.push(operationIssue(INPUT_OPERATIONS, i, `${key} is already changed by operations[${prev}]`));
      return;
    }
    seen.set(key, i);
    ops.push(planned);
  });
  return { ops, issues };
}

/**
 * Resource documents in YAML, as `trellis apply -f` posts a file. Syntax errors and schema problems come with
 * the document's index (`[2].spec.service`) so they can be found in the file. The action and base revision of
 * each document are filled in later from what is in force (`withCurrentRevisions`).
 */
export function planFromYaml(text: string): {
  resources: Resource[];
  documentIndexes: number[];
  issues: FieldIssue[];
} {
  const parsed = parseAllDocuments(text, { uniqueKeys: true });
  const docs = Array.isArray(parsed) ? parsed : [];
  // Checked before any document is turned into values: the cap is also what bounds that work.
  const nonEmpty = docs.filter((d) => d.contents !== null).length;
  if (nonEmpty > MAX_CHANGE_OPERATIONS) {
    return {
      resources: [],
      documentIndexes: [],
      issues: [
        fieldIssue(
          { path: ["yaml"] },
          `has ${nonEmpty} documents; a change takes at most ${MAX_CHANGE_OPERATIONS}: split it into several changes`,
        ),
      ],
    };
  }
  const issues: FieldIssue[] = [];
  const values: unknown[] = [];
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const at = e.linePos?.[0];
        const where = at ? `line ${at.line}, column ${at.col}: ` : "";
        issues.push(fieldIssue({ doc: i, path: [] }, `YAML: ${where}${firstLine(e.message)}`));
      }
      values.push(null);
      return;
    }
    try {
      // maxAliasCount bounds "billion laughs" documents.
      values.push(doc.toJS({ maxAliasCount: 100 }));
    } catch (e) {
      issues.push(fieldIssue({ doc: i, path: [] }, `YAML: ${firstLine((e as Error).message)}`));
      values.push(null);
    }
  });
  if (issues.length > 0) return { resources: [], documentIndexes: [], issues };
  // Empty documents (a stray `---`) are skipped; remember where each resource came from.
  const documentIndexes = values.flatMap((v, i) => (v === null || v === undefined ? [] : [i]));
  if (documentIndexes.length === 0) {
    return {
      resources: [],
      documentIndexes,
      issues: [fieldIssue({ path: ["yaml"] }, "has no resource documents")],
    };
  }
  const r = parseResourceDocuments(values);
  if (!r.ok) return { resources: [], documentIndexes, issues: r.issues };
  return { resources: r.resources, documentIndexes, issues: [] };
}

export function fromResource(
  r: Resource,
  action: "create" | "update",
  baseRevision: number | null,
): PlannedOp {
  return {
    action,
    kind: r.kind,
    namespace: r.metadata.namespace,
    name: r.metadata.name,
    spec: r.spec as Spec,
    baseRevision,
  };
}

function firstLine(s: string): string {
  return s.split("\n", 1)[0]!.trim();
}
