"use client";
// Write a change: YAML (one or more resources), previewed against the mesh as it is (validation with paths,
// diff, impact) before anything is saved; then opened as a change request for review.
import { useMutation, useQuery } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { parseAllDocuments } from "yaml";
import { ZChangeCreateInput, type ChangeOperationInput, type ChangePreview } from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";
import { useRights } from "../../admin/_components/use-me";
import { ApiErrorAlert } from "../../_components/api-error";
import { ImpactView } from "../../_components/impact";
import { Issues } from "../../_components/issues";
import { YamlDiff } from "../../_components/yaml-diff";
import { resourceYaml } from "../../_components/yaml";
import { template } from "./templates";

const KINDS = ["Route", "DestinationPolicy", "AccessPolicy", "MeshSettings"] as const;
const ZTitle = ZChangeCreateInput.shape.title;

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
  const [preview, setPreview] = useState<ChangePreview | null>(null);
  const [parseError, setParseError] = useState<string | null>(null);

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
    const docs = parseAllDocuments(yaml);
    if (docs.length !== 1) return null;
    const doc = docs[0]!.toJSON() as Record<string, unknown>;
    return [{ action: "update", resource: doc, baseRevision: base.revision }];
  }

  function body(): { operations: ChangeOperationInput[] } | { yaml: string } | null {
    setParseError(null);
    try {
      const docs = parseAllDocuments(yaml);
      const bad = docs.flatMap((d) => d.errors);
      if (bad.length > 0) {
        setParseError(bad.map((e) => e.message).join("; "));
        return null;
      }
      const ops = operations();
      return ops ? { operations: ops } : { yaml };
    } catch (e) {
      setParseError((e as Error).message);
      return null;
    }
  }

  const previewM = useMutation(trpc.change.preview.mutationOptions({ onSuccess: setPreview }));
  const create = useMutation(
    trpc.change.create.mutationOptions({ onSuccess: (c) => router.push(`/changes/${c.number}`) }),
  );

  return (
    <form
      className="editor"
      onSubmit={(e) => {
        e.preventDefault();
        const t = ZTitle.safeParse(title);
        setTitleError(t.success ? null : (t.error.issues[0]?.message ?? "invalid"));
        const b = body();
        if (!t.success || b === null) return;
        create.mutate({ title: t.data, ...(description ? { description } : {}), ...b });
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
              onClick={() => setYaml(template(k, props.namespace, props.service))}
            >
              {k}
            </button>
          ))}
        </div>
      )}
      {editing.isError && <ApiErrorAlert error={editing.error} />}
      <label>
        Resources (YAML; separate several with ---)
        <textarea
          className="code"
          value={yaml}
          onChange={(e) => {
            setYaml(e.target.value);
            setPreview(null);
          }}
          rows={18}
          spellCheck={false}
          readOnly={props.remove === true}
        />
      </label>
      {parseError && (
        <p role="alert" className="error">
          YAML: {parseError}
        </p>
      )}
      <div className="buttons">
        <button
          type="button"
          className="secondary"
          disabled={previewM.isPending}
          onClick={() => {
            const b = body();
            if (b) previewM.mutate(b);
          }}
        >
          Preview
        </button>
        {rights?.canPropose && (
          <button
            type="submit"
            disabled={create.isPending || (preview !== null && !preview.validation.valid)}
          >
            Open change request
          </button>
        )}
      </div>
      {rights && !rights.canPropose && (
        <p role="status" className="muted">
          Your role lets you preview a change, not propose it: that takes the editor role.
        </p>
      )}
      <ApiErrorAlert error={previewM.error ?? create.error} />
      {preview && (
        <section aria-label="Preview" className="panel">
          <h2>
            Preview{" "}
            {preview.validation.valid ? (
              <span className="badge ok">valid</span>
            ) : (
              <span className="badge bad">invalid</span>
            )}
          </h2>
          <Issues errors={preview.validation.errors} warnings={preview.validation.warnings} />
          {preview.operations.map((op) => {
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
          <ImpactView impact={preview.impact} />
        </section>
      )}
    </form>
  );
}
