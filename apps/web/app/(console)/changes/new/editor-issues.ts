// Issues from `change.preview` placed in the documents they are about. The server prefixes each path with
// where the resource came from (`[1].spec.service` for YAML documents, `operations[0].resource.spec.service`
// for an update of one resource); the editor shows a document's issues next to its fields with the path a
// user writes (`spec.rules[0].backends[1].weight`), and keeps the document index only when there are several.
// Pure: unit-tested in editor-issues.test.ts.
import type { FieldIssue } from "@trellis/contracts";
import { formatPath } from "@trellis/contracts";
import type { Path } from "./resource-schema";

export type Severity = "error" | "warning";

export interface EditorIssue {
  severity: Severity;
  /** The document (or operation) it is about; null for the change as a whole. */
  doc: number | null;
  /** Path inside that document, `""` for the document itself. */
  path: string;
  message: string;
}

const IN_DOCUMENT = /^\[(\d+)\](?:\.(.*))?$/;
const IN_OPERATION = /^operations\[(\d+)\](?:\.resource)?(?:\.(.*))?$/;

export function placeIssues(issues: readonly FieldIssue[], severity: Severity): EditorIssue[] {
  return issues.map((i) => {
    const m = IN_DOCUMENT.exec(i.path) ?? IN_OPERATION.exec(i.path);
    if (!m) return { severity, doc: null, path: i.path, message: i.message };
    return { severity, doc: Number(m[1]), path: m[2] ?? "", message: i.message };
  });
}

/** The path as the editor prints it: document-relative, with `[n]` in front when the YAML has several. */
export function displayPath(issue: EditorIssue, documents: number): string {
  if (issue.doc === null) return issue.path || "(change)";
  const inner = issue.path || "(document)";
  return documents > 1 ? `[${issue.doc}]${issue.path ? `.${issue.path}` : ""}` : inner;
}

/**
 * The issues shown beside the control for `path` of document `doc`: those about exactly that path, and with
 * `descendants`, those about anything inside it (a comma-separated list shows `methods[1]`'s issue).
 */
export function issuesAt(
  issues: readonly EditorIssue[],
  doc: number,
  path: Path,
  descendants = false,
): EditorIssue[] {
  const p = formatPath(path);
  return issues.filter(
    (i) =>
      i.doc === doc &&
      (i.path === p || (descendants && (i.path.startsWith(`${p}.`) || i.path.startsWith(`${p}[`)))),
  );
}

/** The DOM id of a form control, so an issue in the summary can link to it. */
export function fieldId(doc: number, path: Path): string {
  const p = formatPath(path)
    .replace(/\[(\d+)\]/g, "-$1")
    .replace(/\./g, "-");
  return `field-${doc}-${p.replace(/[^A-Za-z0-9-]/g, "_")}`;
}

/** `spec.rules[0].weight` → `["spec", "rules", 0, "weight"]`: the inverse of `formatPath` for resource paths. */
export function parsePath(path: string): (string | number)[] {
  return [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
}
