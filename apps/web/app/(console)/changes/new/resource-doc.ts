// The editor has one source of truth: the YAML text. The form reads the document it shows from that text and
// writes back by editing the parsed YAML tree in place (yaml's Document API), never by printing the form's own
// idea of the resource. So whatever the form does not show (fields without a widget, keys the schema does not
// know, comments, the order keys were written in) survives a form edit, and the form can never drift from the
// YAML: switching views loses nothing. Keys the form adds go where their schema declares them (`keyOrder`).
// Pure: unit-tested in resource-doc.test.ts.
import {
  Document as YamlDocument,
  isCollection,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  stringify,
  type Document,
  type Node,
  type Scalar,
  type YAMLMap,
  type YAMLSeq,
} from "yaml";
import type { z } from "zod";
import { keyOrder, resourceSchema, type Path } from "./resource-schema";

/** A YAML syntax error where the author can find it. Lines and columns count from 1. */
export interface YamlProblem {
  line: number | null;
  column: number | null;
  message: string;
}

export interface ParsedText {
  docs: Document.Parsed[];
  /** The first syntax error of any document; null when every document parses. */
  problem: YamlProblem | null;
  /** Each document as plain data (`null` for an empty one); empty when there is a problem. */
  values: unknown[];
}

// The server parses `yaml` the same way (packages/services/src/changes/plan.ts): duplicate keys are an error and
// aliases are bounded, so the editor never accepts a text the server would refuse for its syntax.
const PARSE = { uniqueKeys: true } as const;
const TO_JS = { maxAliasCount: 100 } as const;
const PRINT = { lineWidth: 0 } as const;

export function parseText(text: string): ParsedText {
  const docs = parseAllDocuments(text, PARSE);
  if (!Array.isArray(docs)) return { docs: [], problem: null, values: [] }; // an empty stream
  for (const d of docs) {
    const e = d.errors[0];
    if (e) {
      const at = e.linePos?.[0];
      return {
        docs,
        problem: {
          line: at?.line ?? null,
          column: at?.col ?? null,
          message: e.message.split("\n", 1)[0]!.trim(),
        },
        values: [],
      };
    }
  }
  try {
    return { docs, problem: null, values: docs.map((d) => d.toJS(TO_JS) as unknown) };
  } catch (e) {
    return { docs, problem: { line: null, column: null, message: (e as Error).message }, values: [] };
  }
}

/** `line 3, column 7: …`, or the bare message when the parser could not place it. */
export function describeProblem(p: YamlProblem): string {
  return p.line === null
    ? p.message
    : `line ${p.line}, column ${p.column}: ${p.message.replace(/ at line \d+, column \d+:?$/, "")}`;
}

/** The value at `path` in plain data, or undefined. */
export function getIn(value: unknown, path: Path): unknown {
  let cur = value;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return cur;
}

/** A resource as YAML the way the console prints one (no folding of long lines). */
export function toYaml(value: unknown): string {
  return stringify(value, PRINT);
}

/** What a form control does to the document it edits. */
export type Edit =
  /** Set the value at `path`; `undefined` removes the key (and any map or list that leaves empty). */
  | { op: "set"; path: Path; value: unknown }
  /** Insert `value` into the list at `path`, at `index` (default: the end). Creates the list if needed. */
  | { op: "insert"; path: Path; value: unknown; index?: number }
  /** Remove the list item or key at `path` (and any map or list that leaves empty). */
  | { op: "remove"; path: Path }
  /** Move the item of the list at `path` from `from` to `to`. */
  | { op: "move"; path: Path; from: number; to: number };

/**
 * Applies one form edit to document `docIndex` of `text` and returns the new text. A text with a syntax error
 * comes back unchanged: the form is not offered until the YAML parses.
 */
export function applyEdit(text: string, docIndex: number, edit: Edit): string {
  const { docs, problem } = parseText(text);
  const doc = docs[docIndex];
  if (problem || !doc) return text;
  const schema = resourceSchema(isMap(doc.contents) ? doc.contents.get("kind") : undefined);
  const t = new Tree(doc, schema);
  let inPlace: Scalar | null = null;
  switch (edit.op) {
    case "set":
      if (edit.value === undefined) t.remove(edit.path);
      else inPlace = t.set(edit.path, edit.value);
      break;
    case "insert": {
      const seq = t.collection(edit.path, "seq");
      const node = doc.createNode(edit.value) as Node;
      // A new item looks like its siblings: `- { version: v1, weight: 90 }` rows get another such row.
      if (isMap(node) && seq.items.length > 0 && seq.items.every((i) => isMap(i) && i.flow)) node.flow = true;
      t.filling(seq);
      seq.items.splice(Math.min(edit.index ?? seq.items.length, seq.items.length), 0, node);
      break;
    }
    case "remove":
      t.remove(edit.path);
      break;
    case "move": {
      const seq = doc.getIn(edit.path, true);
      if (
        isSeq(seq) &&
        edit.from >= 0 &&
        edit.to >= 0 &&
        edit.from < seq.items.length &&
        edit.to < seq.items.length
      ) {
        const [item] = seq.items.splice(edit.from, 1);
        seq.items.splice(edit.to, 0, item);
      }
      break;
    }
  }
  const printed = docs.map((d) => d.toString(PRINT)).join("");
  return (inPlace && spliceScalar(text, inPlace, printed)) ?? printed;
}

/**
 * Typing in a field changes one scalar: write just that scalar into the author's text, so their layout
 * (aligned comments, spacing in flow collections) stays as it was. Only when the result reads back exactly as
 * the reprinted tree does (a plain `a, b` in a flow list would not), else null and the tree is reprinted.
 */
function spliceScalar(text: string, node: Scalar, printed: string): string | null {
  const range = node.range;
  if (!range || node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED") return null;
  const bare = node.clone() as Scalar;
  bare.comment = bare.commentBefore = null;
  bare.spaceBefore = false;
  const one = new YamlDocument(null);
  one.contents = bare;
  const written = one.toString(PRINT).replace(/\n$/, "");
  if (written.includes("\n")) return null;
  const spliced = text.slice(0, range[0]) + written + text.slice(range[1]);
  const a = parseText(spliced);
  return a.problem === null && JSON.stringify(a.values) === JSON.stringify(parseText(printed).values)
    ? spliced
    : null;
}

/** Edits of one YAML document that keep what is there and place new keys in schema order. */
class Tree {
  constructor(
    private readonly doc: Document,
    private readonly schema: z.ZodType | null,
  ) {}

  private node(path: Path): unknown {
    return path.length === 0 ? this.doc.contents : this.doc.getIn(path, true);
  }

  /** The map or list at `path`, created (in schema order) if missing or if something else is there. */
  collection(path: Path, type: "map"): YAMLMap;
  collection(path: Path, type: "seq"): YAMLSeq;
  collection(path: Path, type: "map" | "seq"): YAMLMap | YAMLSeq {
    const existing = this.node(path);
    if (type === "map" ? isMap(existing) : isSeq(existing)) return existing as YAMLMap | YAMLSeq;
    const fresh = this.doc.createNode(type === "map" ? {} : []) as YAMLMap | YAMLSeq;
    if (path.length === 0) this.doc.contents = fresh;
    else this.put(path, fresh);
    return fresh;
  }

  /**
   * About to add to `c`: an empty `{}` or `[]` was only written that way because it was empty, so it opens up
   * into block style (unless it sits inside a flow collection, where everything stays flow).
   */
  filling(c: YAMLMap | YAMLSeq): void {
    if (c.items.length === 0) c.flow = false;
  }

  /** Puts `node` at `path`, replacing what is there (keeping its comments) or adding the key in schema order. */
  private put(path: Path, node: Node): void {
    const key = path[path.length - 1]!;
    const parentPath = path.slice(0, -1);
    if (typeof key === "number") {
      const seq = this.collection(parentPath, "seq");
      if (key < seq.items.length) {
        keepComments(seq.items[key], node);
        seq.items[key] = node;
      } else {
        this.filling(seq);
        seq.items.push(node);
      }
      return;
    }
    const map = this.collection(parentPath, "map");
    const pair = map.items.find((p) => keyOf(p.key) === key);
    if (pair) {
      keepComments(pair.value, node);
      pair.value = node;
      return;
    }
    const order = this.schema ? keyOrder(this.schema, parentPath) : [];
    const rank = order.indexOf(key);
    const created = this.doc.createPair(key, node);
    this.filling(map);
    const before = rank < 0 ? -1 : map.items.findIndex((p) => order.indexOf(String(keyOf(p.key))) > rank);
    if (before < 0) map.items.push(created);
    else map.items.splice(before, 0, created);
  }

  /** Sets the value at `path`; returns the scalar when one was updated in place. */
  set(path: Path, value: unknown): Scalar | null {
    if (path.length === 0) return null;
    const existing = this.node(path);
    // A scalar of the same type is updated in place: its quoting style and comments stay.
    if (
      isScalar(existing) &&
      value !== null &&
      typeof value !== "object" &&
      typeof existing.value === typeof value
    ) {
      // "" has to be quoted; what is typed into it need not be.
      if (existing.value === "") existing.type = undefined;
      existing.value = value;
      return existing;
    }
    // A list of scalars reads best on one line: `methods: [GET, POST]`.
    const flow = Array.isArray(value) && value.every((v) => v === null || typeof v !== "object");
    this.put(path, this.doc.createNode(value, { flow }) as Node);
    return null;
  }

  /**
   * Removes what is at `path`, then every map or list that leaves empty, up to (not including) the top-level
   * keys. List items that become `{}` stay: an empty rule means something (it matches every request).
   */
  remove(path: Path): void {
    if (path.length === 0 || !this.doc.hasIn(path)) return;
    this.doc.deleteIn(path);
    let p = path.slice(0, -1);
    while (p.length > 1 && typeof p[p.length - 1] === "string") {
      const n = this.node(p);
      if (!isCollection(n) || n.items.length > 0) break;
      this.doc.deleteIn(p);
      p = p.slice(0, -1);
    }
  }
}

function keyOf(k: unknown): unknown {
  return isScalar(k) ? k.value : k;
}

function keepComments(from: unknown, to: Node): void {
  if (from === null || typeof from !== "object" || !("commentBefore" in from || "comment" in from)) return;
  const f = from as { comment?: string | null; commentBefore?: string | null };
  if (f.commentBefore) to.commentBefore = f.commentBefore;
  if (f.comment) to.comment = f.comment;
}
