// Issues from `change.preview` placed in the documents they are about. Each issue's `at` says which document
// of the change it is in (`doc`: the YAML document, or the operation of an update of one resource) and where
// in it (`path`, keys and indexes). The editor shows a document's issues next to the controls for those paths,
// and prints them as a user writes them (`spec.rules[0].backends[1].weight`), with the document index in front
// only when the YAML has several. Nothing here reads the server's `path` text back.
// Pure: unit-tested in editor-issues.test.ts.
import type { FieldIssue } from "@trellis/contracts";
import { formatPath } from "@trellis/contracts";
import type { Path } from "./resource-schema";

export type Severity = "error" | "warning";

export interface EditorIssue {
  severity: Severity;
  /** The document (or operation) it is about; null for the change as a whole. */
  doc: number | null;
  /** Path inside that document (or, for the change as a whole, in the request); `[]` for all of it. */
  path: Path;
  message: string;
}

export function placeIssues(issues: readonly FieldIssue[], severity: Severity): EditorIssue[] {
  return issues.map((i) => ({ severity, doc: i.at.doc ?? null, path: i.at.path, message: i.message }));
}

/** The path as the editor prints it: document-relative, with `[n]` in front when the YAML has several. */
export function displayPath(issue: EditorIssue, documents: number): string {
  if (issue.doc === null) return formatPath(issue.path) || "(change)";
  if (documents > 1) return formatPath([issue.doc, ...issue.path]);
  return formatPath(issue.path) || "(document)";
}

/** Whether `path` begins with every step of `prefix`. */
function within(path: Path, prefix: Path): boolean {
  return path.length >= prefix.length && prefix.every((seg, n) => path[n] === seg);
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
  return issues.filter(
    (i) => i.doc === doc && within(i.path, path) && (descendants || i.path.length === path.length),
  );
}

/** The DOM id of a form control, so an issue in the summary can link to it: valid in a URL fragment. */
export function fieldId(doc: number, path: Path): string {
  return `field-${doc}-${path.join("-").replace(/[^A-Za-z0-9-]/g, "_")}`;
}
