"use client";
// The pieces every resource form is made of. A `Field` is given only a path and a label: its widget (text,
// number, choice, checkboxes, list), its choices and whether it may be left empty come from the contracts'
// schema at that path (resource-schema.ts), its value from the YAML document, and its issues from the live
// validation. Editing it sends an `Edit` that changes the YAML in place (resource-doc.ts).
import { createContext, useContext, useState, type InputHTMLAttributes, type ReactNode } from "react";
import type { z } from "zod";
import { displayPath, fieldId, issuesAt, type EditorIssue } from "./editor-issues";
import { getIn, type Edit } from "./resource-doc";
import { fieldSpec, type Path } from "./resource-schema";

export interface FormApi {
  /** Index of the YAML document the form edits. */
  doc: number;
  /** That document as data. */
  value: unknown;
  /** The schema of its kind. */
  schema: z.ZodType;
  /** Applies edits, in order, to the YAML. */
  edit: (...edits: Edit[]) => void;
  issues: readonly EditorIssue[];
  /** How many documents the YAML has (paths carry the document index when there are several). */
  documents: number;
  readOnly: boolean;
}

const FormContext = createContext<FormApi | null>(null);

export function FormProvider({ api, children }: { api: FormApi; children: ReactNode }) {
  return <FormContext.Provider value={api}>{children}</FormContext.Provider>;
}

export function useForm(): FormApi {
  const f = useContext(FormContext);
  if (!f) throw new Error("useForm outside a FormProvider");
  return f;
}

/** The value at `path` of the document being edited. */
export function useValue(path: Path): unknown {
  return getIn(useForm().value, path);
}

/** Items of the list at `path` (none when it is absent or not a list). */
export function useList(path: Path): unknown[] {
  const v = useValue(path);
  return Array.isArray(v) ? v : [];
}

export const set = (path: Path, value: unknown): Edit => ({ op: "set", path, value });

/** Issues about `path`, shown beside its control. */
export function FieldIssues({ path, descendants = false }: { path: Path; descendants?: boolean }) {
  const f = useForm();
  const issues = issuesAt(f.issues, f.doc, path, descendants);
  if (issues.length === 0) return null;
  return (
    <ul id={`${fieldId(f.doc, path)}-issues`} className="field-issues">
      {issues.map((i, n) => (
        <li key={n} className={i.severity}>
          <code>{displayPath(i, f.documents)}</code>: {i.message}
        </li>
      ))}
    </ul>
  );
}

/** aria attributes tying a control to its issues. */
export function useIssueAria(path: Path, descendants = false) {
  const f = useForm();
  const issues = issuesAt(f.issues, f.doc, path, descendants);
  return {
    id: fieldId(f.doc, path),
    "aria-invalid": issues.some((i) => i.severity === "error") || undefined,
    "aria-describedby": issues.length > 0 ? `${fieldId(f.doc, path)}-issues` : undefined,
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * A text input whose text may say more than the value it stands for (`GET, ` on the way to `GET, POST`; `9.`
 * on the way to `9.5`): it keeps what is typed while it means the value in the YAML, and shows the YAML's value
 * again when that changes from elsewhere.
 */
function DraftInput({
  value,
  format,
  parse,
  onValue,
  ...input
}: {
  value: unknown;
  format: (v: unknown) => string;
  parse: (text: string) => unknown;
  onValue: (v: unknown) => void;
} & Omit<InputHTMLAttributes<HTMLInputElement>, "value" | "onChange">) {
  const [draft, setDraft] = useState(() => format(value));
  const [seen, setSeen] = useState(value);
  if (!same(seen, value)) {
    setSeen(value);
    if (!same(parse(draft), value)) setDraft(format(value));
  }
  return (
    <input
      {...input}
      value={draft}
      onChange={(e) => {
        setDraft(e.target.value);
        onValue(parse(e.target.value));
      }}
    />
  );
}

const scalarText = (v: unknown) =>
  v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
const NUMBER = /^-?\d+(?:\.\d+)?$/;
/** A number when the text is one; otherwise the text itself, so the schema's complaint reaches the author. */
const numberOrText = (t: string) => (NUMBER.test(t.trim()) ? Number(t.trim()) : t);

interface FieldProps {
  path: Path;
  label: string;
  /** A short hint under the label. */
  hint?: string;
  placeholder?: string;
  /** id of a datalist with suggestions. */
  list?: string;
  /** What an empty choice means (`(default: strict)`). */
  emptyLabel?: string;
  /** A label read by assistive technology instead of the visible one (rows of a list). */
  ariaLabel?: string;
  /** Emptying the field writes "" instead of removing the key (the value of a match being retyped). */
  keepEmpty?: boolean;
}

/** One field of a resource, its widget picked by the contracts' schema. */
export function Field({
  path,
  label,
  hint,
  placeholder,
  list,
  emptyLabel,
  ariaLabel,
  keepEmpty,
}: FieldProps) {
  const f = useForm();
  const spec = fieldSpec(f.schema, path);
  const value = getIn(f.value, path);
  const many = spec.kind === "list" || spec.kind === "choices";
  const aria = useIssueAria(path, many);
  const edit = (v: unknown) => f.edit(set(path, v));
  const hintEl = hint ? <small className="muted">{hint}</small> : null;

  let control: ReactNode;
  switch (spec.kind) {
    case "boolean":
      return (
        <div className="form-field">
          <label className="form-check">
            <input
              type="checkbox"
              {...aria}
              aria-label={ariaLabel}
              checked={value === true}
              disabled={f.readOnly}
              onChange={(e) => edit(e.target.checked ? true : spec.optional ? undefined : false)}
            />
            {label}
          </label>
          {hintEl}
          <FieldIssues path={path} />
        </div>
      );
    case "choices": {
      const chosen = Array.isArray(value) ? value : [];
      const extra = chosen.filter((c) => !spec.options.includes(String(c)));
      return (
        <fieldset className="form-field form-choices" {...aria} tabIndex={-1}>
          <legend>{label}</legend>
          {hintEl}
          {[...spec.options, ...extra.map(String)].map((o) => (
            <label key={o} className="form-check">
              <input
                type="checkbox"
                checked={chosen.includes(o)}
                disabled={f.readOnly}
                onChange={(e) => {
                  // Kept in the schema's order; values the schema does not know stay until unticked.
                  const next = e.target.checked
                    ? [...spec.options, ...extra].filter((x) => x === o || chosen.includes(x))
                    : chosen.filter((x) => x !== o);
                  edit(next.length > 0 ? next : undefined);
                }}
              />
              {o}
            </label>
          ))}
          <FieldIssues path={path} descendants />
        </fieldset>
      );
    }
    case "choice": {
      const current = typeof value === "string" ? value : value === undefined ? "" : scalarText(value);
      const known = current === "" || spec.options.includes(current);
      control = (
        <select
          {...aria}
          aria-label={ariaLabel}
          value={current}
          disabled={f.readOnly}
          onChange={(e) => edit(e.target.value === "" ? undefined : e.target.value)}
        >
          <option value="">{emptyLabel ?? (spec.optional ? "(default)" : "Choose…")}</option>
          {spec.options.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
          {!known && <option value={current}>{current} (not a valid choice)</option>}
        </select>
      );
      break;
    }
    case "fixed":
      control = <input {...aria} aria-label={ariaLabel} readOnly value={scalarText(value ?? spec.value)} />;
      break;
    case "list":
      control = (
        <DraftInput
          {...aria}
          aria-label={ariaLabel}
          value={value}
          readOnly={f.readOnly}
          placeholder={placeholder}
          list={list}
          format={(v) => (Array.isArray(v) ? v.map(scalarText).join(", ") : scalarText(v))}
          parse={(t) => {
            const items = t.split(/[\s,]+/).filter((x) => x !== "");
            if (items.length === 0) return spec.optional ? undefined : [];
            return spec.item === "number" ? items.map(numberOrText) : items;
          }}
          onValue={edit}
        />
      );
      break;
    case "number":
    case "text":
      control = (
        <DraftInput
          {...aria}
          aria-label={ariaLabel}
          value={value}
          readOnly={f.readOnly}
          placeholder={placeholder}
          list={list}
          inputMode={spec.kind === "number" ? "decimal" : undefined}
          autoComplete="off"
          spellCheck={false}
          format={scalarText}
          parse={(t) =>
            // Emptying a field the schema requires keeps "" so the schema says what is missing.
            t === ""
              ? (spec.optional && !keepEmpty) || spec.kind === "number"
                ? undefined
                : ""
              : spec.kind === "number"
                ? numberOrText(t)
                : t
          }
          onValue={edit}
        />
      );
      break;
    case "other":
      control = (
        <input
          {...aria}
          aria-label={ariaLabel}
          readOnly
          value={scalarText(value)}
          title="Edit this in the YAML view"
        />
      );
      break;
  }
  return (
    <div className="form-field">
      <label>
        {ariaLabel ? <span aria-hidden="true">{label}</span> : label}
        {control}
      </label>
      {hintEl}
      <FieldIssues path={path} descendants={many} />
    </div>
  );
}

/** A group of fields about one object (`retries`, `fault.delay`), with the issues about the object itself. */
export function Group({
  path,
  legend,
  hint,
  children,
  className,
  hideLegend = false,
}: {
  path: Path;
  legend: string;
  hint?: ReactNode;
  children: ReactNode;
  className?: string;
  /** Inside a `<details>` whose summary already says it: the legend is for assistive technology only. */
  hideLegend?: boolean;
}) {
  const aria = useIssueAria(path);
  return (
    <fieldset className={`form-group ${className ?? ""}`} {...aria} tabIndex={-1}>
      <legend className={hideLegend ? "sr-only" : undefined}>{legend}</legend>
      {hint && <p className="muted form-hint">{hint}</p>}
      <FieldIssues path={path} />
      {children}
    </fieldset>
  );
}

/** Fields of `value` the form has no control for: named, so nobody wonders where they went. */
export function NotShown({ path, shown }: { path: Path; shown: readonly string[] }) {
  const v = useValue(path);
  if (typeof v !== "object" || v === null || Array.isArray(v)) return null;
  const rest = Object.keys(v).filter((k) => !shown.includes(k));
  if (rest.length === 0) return null;
  return (
    <p className="muted form-hint">
      Also set, edited in the YAML view: {rest.map((k, i) => [i > 0 ? ", " : "", <code key={k}>{k}</code>])}
    </p>
  );
}

/** Move up / move down / remove for one item of a list at `path`. */
export function ItemActions({
  path,
  index,
  count,
  noun,
  canRemove = true,
}: {
  path: Path;
  index: number;
  count: number;
  noun: string;
  canRemove?: boolean;
}) {
  const f = useForm();
  if (f.readOnly) return null;
  const n = index + 1;
  return (
    <span className="form-item-actions">
      {count > 1 && (
        <>
          <button
            type="button"
            className="secondary small"
            aria-label={`Move ${noun} ${n} up`}
            disabled={index === 0}
            onClick={() => f.edit({ op: "move", path, from: index, to: index - 1 })}
          >
            ↑
          </button>
          <button
            type="button"
            className="secondary small"
            aria-label={`Move ${noun} ${n} down`}
            disabled={index === count - 1}
            onClick={() => f.edit({ op: "move", path, from: index, to: index + 1 })}
          >
            ↓
          </button>
        </>
      )}
      {canRemove && (
        <button
          type="button"
          className="secondary small"
          aria-label={`Remove ${noun} ${n}`}
          onClick={() => f.edit({ op: "remove", path: [...path, index] })}
        >
          Remove
        </button>
      )}
    </span>
  );
}

/** A button that appends `value` to the list at `path`. */
export function AddButton({ path, value, children }: { path: Path; value: unknown; children: ReactNode }) {
  const f = useForm();
  if (f.readOnly) return null;
  return (
    <button type="button" className="secondary small" onClick={() => f.edit({ op: "insert", path, value })}>
      {children}
    </button>
  );
}

/**
 * Every issue of the document being edited, as links: following one moves focus to the control for its path,
 * or to the nearest group around it when the form has no control for that field.
 */
export function IssueSummary({ issues }: { issues: readonly EditorIssue[] }) {
  const f = useForm();
  if (issues.length === 0) return null;
  const errors = issues.filter((i) => i.severity === "error").length;
  const warnings = issues.length - errors;
  const focus = (i: EditorIssue) => {
    for (let n = i.path.length; n >= 0; n--) {
      const el = document.getElementById(fieldId(f.doc, i.path.slice(0, n)));
      if (el) {
        el.scrollIntoView({ block: "center" });
        el.focus();
        return;
      }
    }
  };
  return (
    <section
      className={`issues form-summary ${errors > 0 ? "has-errors" : ""}`}
      aria-label="Problems in this resource"
    >
      <p>
        {errors > 0 && <span className="error">{errors === 1 ? "1 error" : `${errors} errors`}</span>}
        {errors > 0 && warnings > 0 && ", "}
        {warnings > 0 && (
          <span className="warning">{warnings === 1 ? "1 warning" : `${warnings} warnings`}</span>
        )}
      </p>
      <ul>
        {issues.map((i, n) => (
          <li key={n} className={i.severity}>
            <a
              href={`#${fieldId(f.doc, i.path)}`}
              onClick={(e) => {
                e.preventDefault();
                focus(i);
              }}
            >
              <code>{displayPath(i, f.documents)}</code>
            </a>
            : {i.message}
          </li>
        ))}
      </ul>
    </section>
  );
}
