"use client";
// Write a change: one or more resources, in a form or as YAML (two views of the same text), validated against
// the mesh as it is while the author types (errors and warnings with their paths, beside the fields and under
// the YAML), previewed (diff, impact), then opened as a change request for review. Errors block opening it;
// warnings do not.
import "@/lib/zod-jitless";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useEffect, useMemo, useState } from "react";
import {
  ALL_NAMESPACES,
  RESOURCE_KINDS,
  roleRank,
  ZChangeCreateInput,
  type Role,
  type ChangeOperationInput,
  type ChangePreviewInput,
} from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";
import { useRights } from "../../admin/_components/use-me";
import { ApiErrorAlert } from "../../_components/api-error";
import { ImpactView } from "../../_components/impact";
import { Issues } from "../../_components/issues";
import { YamlDiff } from "../../_components/yaml-diff";
import { resourceYaml } from "../../_components/yaml";
import { displayPath } from "./editor-issues";
import { Tabs } from "./editor-tabs";
import { applyEdit, describeProblem, parseText, type Edit } from "./resource-doc";
import { ResourceForm } from "./resource-form";
import { template } from "./templates";
import { useLiveValidation, type Checked } from "./use-live-validation";

const KINDS = RESOURCE_KINDS;
const ZTitle = ZChangeCreateInput.shape.title;

/** The first namespace the user edits (or else reads) by name; undefined when their roles hold everywhere. */
function homeNamespace(bindings: readonly { role: Role; namespace: string }[]): string | undefined {
  const named = bindings.filter((b) => b.namespace !== ALL_NAMESPACES);
  if (bindings.some((b) => b.namespace === ALL_NAMESPACES && roleRank(b.role) >= roleRank("editor")))
    return undefined;
  return (named.find((b) => roleRank(b.role) >= roleRank("editor")) ?? named[0])?.namespace;
}

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

/** One line beside the buttons: where the check of the text shown stands. */
function checkStatus(
  badYaml: boolean,
  checkable: boolean,
  checking: boolean,
  checked: Checked | null,
): string {
  if (badYaml) return "Fix the YAML to check the change.";
  if (!checkable) return "";
  if (checking) return "Checking…";
  if (!checked || checked.failure) return "";
  const { errors, warnings } = checked;
  const also = warnings.length > 0 ? `; ${count(warnings.length, "warning")}` : "";
  if (errors.length > 0)
    return `${count(errors.length, "error")} ${errors.length === 1 ? "blocks" : "block"} this change${also}.`;
  return warnings.length > 0 ? `Valid, with ${count(warnings.length, "warning")}.` : "Valid.";
}

interface Props {
  edit?: string | undefined;
  remove?: boolean;
  template?: string | undefined;
  namespace?: string | undefined;
  service?: string | undefined;
}

export function ChangeEditor(props: Props) {
  const trpc = useTRPC();
  const router = useRouter();
  // Anyone who reads the mesh may preview; only editors are offered to open the request.
  const { rights } = useRights();
  const [kind, namespace, name] = props.edit?.split("/") ?? [];
  const editing = useQuery({
    ...trpc.resource.get.queryOptions({
      kind: (kind ?? "Route") as (typeof KINDS)[number],
      namespace: namespace ?? "",
      name: name ?? "",
    }),
    enabled: props.edit !== undefined,
  });
  const base = editing.data ?? null;

  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [yaml, setYaml] = useState(() =>
    props.edit ? "" : template(props.template ?? "Route", props.namespace, props.service),
  );
  const [titleError, setTitleError] = useState<string | null>(null);
  const [view, setView] = useState<"form" | "yaml">("form");
  const [showPreview, setShowPreview] = useState(false);
  const parsed = useMemo(() => parseText(yaml), [yaml]);

  // A new change starts in a namespace the author may change (their first editor binding), once their roles are
  // known, so the template's first check is not refused for a namespace that is not theirs. Only while the
  // template is untouched.
  const home = props.namespace ?? (rights ? homeNamespace(rights.me.effective) : undefined);
  useEffect(() => {
    if (props.edit || props.namespace || !home) return;
    const k = props.template ?? "Route";
    setYaml((y) => (y === template(k, undefined, props.service) ? template(k, home, props.service) : y));
  }, [home, props.edit, props.namespace, props.template, props.service]);

  // Editing: start from the resource in force.
  useEffect(() => {
    if (base && yaml === "") {
      setYaml(resourceYaml(base, base.spec));
      setTitle(
        props.remove
          ? `Delete ${base.kind} ${base.namespace}/${base.name}`
          : `Update ${base.kind} ${base.namespace}/${base.name}`,
      );
    }
  }, [base, yaml, props.remove]);

  /** Editing one resource: an update (or delete) against the revision shown, so a later edit by someone else makes this stale. */
  function operations(): ChangeOperationInput[] | null {
    if (!base) return null;
    if (props.remove)
      return [
        {
          action: "delete",
          kind: base.kind,
          namespace: base.namespace,
          name: base.name,
          baseRevision: base.revision,
        },
      ];
    const docs = parsed.values.filter((v) => v !== null && v !== undefined);
    if (parsed.problem || docs.length !== 1) return null;
    return [{ action: "update", resource: docs[0] as Record<string, unknown>, baseRevision: base.revision }];
  }

  // What is validated as the author types and sent by "Open change request": nothing while the YAML does not parse.
  const ops = operations();
  const hasDocuments = parsed.values.some((v) => v !== null && v !== undefined);
  const body: ChangePreviewInput | null = ops
    ? { operations: ops }
    : parsed.problem || !hasDocuments
      ? null
      : { yaml };
  const live = useLiveValidation(body);
  const checked = live.checked;
  const issues = parsed.problem ? [] : [...(checked?.errors ?? []), ...(checked?.warnings ?? [])];
  const errorCount = checked?.errors.length ?? 0;
  // Errors of the text shown block; an unchecked text is checked again by the server when the request is opened.
  const blocked = parsed.problem !== null || (!live.checking && errorCount > 0);
  const preview = checked?.preview ?? null;

  const edit = (doc: number, edits: Edit[]) =>
    setYaml((prev) => edits.reduce((t, e) => applyEdit(t, doc, e), prev));
  const create = useMutation(
    trpc.change.create.mutationOptions({ onSuccess: (c) => router.push(`/changes/${c.number}`) }),
  );
  const asFieldIssues = (severity: "error" | "warning") =>
    issues
      .filter((i) => i.severity === severity)
      .map((i) => ({ path: displayPath(i, parsed.values.length), message: i.message }));

  return (
    <form
      className="editor"
      onSubmit={(e) => {
        e.preventDefault();
        const t = ZTitle.safeParse(title);
        setTitleError(t.success ? null : (t.error.issues[0]?.message ?? "invalid"));
        if (!t.success || body === null || blocked) return;
        create.mutate({ title: t.data, ...(description ? { description } : {}), ...body });
      }}
    >
      <label>
        Title
        <input
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          aria-invalid={titleError !== null}
          aria-describedby={titleError ? "title-error" : undefined}
          placeholder="Send 10% of reviews traffic to v2"
        />
        {titleError && (
          <span id="title-error" className="error">
            {titleError}
          </span>
        )}
      </label>
      <label>
        Description
        <textarea
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          rows={2}
          placeholder="Why"
        />
      </label>
      {!props.edit && (
        <div className="buttons" role="group" aria-label="Start from a template">
          {KINDS.map((k) => (
            <button
              key={k}
              type="button"
              className="secondary"
              onClick={() => setYaml(template(k, home, props.service))}
            >
              {k}
            </button>
          ))}
        </div>
      )}
      {editing.isError && <ApiErrorAlert error={editing.error} />}
      <Tabs
        label="Editor view"
        selected={view}
        onSelect={setView}
        tabs={[
          {
            key: "form",
            label: "Form",
            panel: (
              <ResourceForm
                parsed={parsed}
                issues={issues}
                readOnly={props.remove === true}
                empty={
                  props.edit
                    ? editing.isError
                      ? "The resource could not be loaded."
                      : "Loading the resource…"
                    : "No resource yet: start from a template above, or write one in the YAML view."
                }
                onEdit={edit}
                onShowYaml={() => setView("yaml")}
              />
            ),
          },
          {
            key: "yaml",
            label: "YAML",
            panel: (
              <>
                <label>
                  Resources (YAML; separate several with ---)
                  <textarea
                    className="code"
                    value={yaml}
                    onChange={(e) => setYaml(e.target.value)}
                    rows={18}
                    spellCheck={false}
                    readOnly={props.remove === true}
                  />
                </label>
                {parsed.problem && (
                  <p role="alert" className="error">
                    YAML: {describeProblem(parsed.problem)}
                  </p>
                )}
                <Issues errors={asFieldIssues("error")} warnings={asFieldIssues("warning")} />
              </>
            ),
          },
        ]}
      />
      <div className="buttons">
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setShowPreview(true);
            live.checkNow();
          }}
        >
          Preview
        </button>
        {rights?.canPropose && (
          <button type="submit" disabled={create.isPending || blocked}>
            Open change request
          </button>
        )}
        <span
          role="status"
          className={`check-status ${errorCount > 0 && !live.checking ? "error" : "muted"}`}
        >
          {checkStatus(parsed.problem !== null, body !== null, live.checking, checked)}
        </span>
      </div>
      {rights && !rights.canPropose && (
        <p role="status" className="muted">
          Your role lets you preview a change, not propose it: that takes the editor role.
        </p>
      )}
      <ApiErrorAlert error={checked?.failure ?? create.error} />
      {showPreview && checked && !parsed.problem && (
        <section aria-label="Preview" className="panel">
          <div className="title-row">
            <h2>
              Preview{" "}
              {checked.errors.length === 0 ? (
                <span className="badge ok">valid</span>
              ) : (
                <span className="badge bad">invalid</span>
              )}
              {live.checking && <span className="muted"> checking…</span>}
            </h2>
            <button type="button" className="secondary small" onClick={() => setShowPreview(false)}>
              Hide
            </button>
          </div>
          {!preview && <p className="muted">Fix the errors above to see the diff and the impact.</p>}
          {preview?.operations.map((op) => {
            const key = { kind: op.kind, namespace: op.namespace, name: op.name };
            return (
              <article key={op.index} className="operation">
                <h3>
                  <span className={`badge action-${op.action}`}>{op.action}</span> {op.kind} {op.namespace}/
                  {op.name}
                </h3>
                <YamlDiff
                  label={`Diff of ${op.kind} ${op.namespace}/${op.name}`}
                  before={resourceYaml(key, op.before)}
                  after={resourceYaml(key, op.after)}
                />
              </article>
            );
          })}
          {preview && <ImpactView impact={preview.impact} />}
        </section>
      )}
    </form>
  );
}
