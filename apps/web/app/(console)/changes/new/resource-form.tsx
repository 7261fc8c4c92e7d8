"use client";
// The form view of the editor: one document of the YAML at a time, with the form of its kind. It reads the
// document from the parsed text and sends edits back as `Edit`s; it holds no copy of the resource, so the YAML
// view and the form can never disagree.
import { useQuery } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";
import { RESOURCE_KINDS } from "@trellis/contracts";
import { useTRPC } from "@/lib/trpc/client";
import { AccessPolicyForm } from "./access-policy-form";
import { DestinationPolicyForm } from "./destination-policy-form";
import type { EditorIssue } from "./editor-issues";
import { Field, FormProvider, IssueSummary, type FormApi } from "./form-fields";
import { MeshSettingsForm } from "./mesh-settings-form";
import { describeProblem, getIn, type Edit, type ParsedText } from "./resource-doc";
import { resourceSchema } from "./resource-schema";
import { RouteForm } from "./route-form";

const FORMS = {
  Route: RouteForm,
  DestinationPolicy: DestinationPolicyForm,
  AccessPolicy: AccessPolicyForm,
  MeshSettings: MeshSettingsForm,
} as const satisfies Record<(typeof RESOURCE_KINDS)[number], () => ReactNode>;

const str = (v: unknown) => (typeof v === "string" ? v : "");

export function ResourceForm({
  parsed,
  issues,
  readOnly,
  empty,
  onEdit,
  onShowYaml,
}: {
  parsed: ParsedText;
  issues: readonly EditorIssue[];
  readOnly: boolean;
  /** What the form says while there is no document. */
  empty: string;
  onEdit: (doc: number, edits: Edit[]) => void;
  onShowYaml: () => void;
}) {
  const [picked, setPicked] = useState(0);
  const documents = parsed.values.map((v, i) => ({ v, i })).filter((d) => d.v !== null && d.v !== undefined);
  const current = documents.find((d) => d.i === picked) ?? documents[0];
  const kind = current ? getIn(current.v, ["kind"]) : undefined;
  const namespace = current ? str(getIn(current.v, ["metadata", "namespace"])) : "";
  const service = current ? str(getIn(current.v, ["spec", "service"])) : "";
  const known = useKnownServices(namespace, service);

  if (parsed.problem) {
    return (
      <div className="empty">
        <p>The YAML does not parse ({describeProblem(parsed.problem)}), so the form cannot show it.</p>
        <button type="button" className="secondary" onClick={onShowYaml}>
          Fix it in the YAML view
        </button>
      </div>
    );
  }
  if (!current) return <p className="empty">{empty}</p>;
  const schema = resourceSchema(kind);
  const Form = typeof kind === "string" && kind in FORMS ? FORMS[kind as keyof typeof FORMS] : null;

  const picker =
    documents.length > 1 ? (
      <label className="form-picker">
        Resource
        <select value={current.i} onChange={(e) => setPicked(Number(e.target.value))}>
          {documents.map((d) => (
            <option key={d.i} value={d.i}>
              {d.i + 1}. {str(getIn(d.v, ["kind"])) || "(no kind)"}{" "}
              {str(getIn(d.v, ["metadata", "namespace"]))}/{str(getIn(d.v, ["metadata", "name"]))}
            </option>
          ))}
        </select>
      </label>
    ) : null;

  if (!schema || !Form) {
    return (
      <>
        {picker}
        <p className="empty">
          The form knows {RESOURCE_KINDS.join(", ")}; this document&apos;s kind is{" "}
          <code>{typeof kind === "string" ? kind : "missing"}</code>. Edit it in the YAML view, or start from
          a template.
        </p>
      </>
    );
  }

  const api: FormApi = {
    doc: current.i,
    value: current.v,
    schema,
    edit: (...edits) => onEdit(current.i, edits),
    issues,
    documents: parsed.values.length,
    readOnly,
  };
  return (
    <FormProvider api={api}>
      {picker}
      <IssueSummary issues={issues.filter((i) => i.doc === current.i || i.doc === null)} />
      <fieldset className="resource-form" disabled={readOnly} aria-label={`${kind} form`}>
        <p className="muted form-kind">
          {String(kind)} <span className="mono">{str(getIn(current.v, ["apiVersion"]))}</span>
        </p>
        <div className="form-grid">
          <Field path={["metadata", "name"]} label="Name" />
          <Field path={["metadata", "namespace"]} label="Namespace" list="editor-namespaces" />
        </div>
        <Form />
      </fieldset>
      <datalist id="editor-namespaces">
        {known.namespaces.map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
      <datalist id="editor-services">
        {known.services.map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
      <datalist id="editor-versions">
        {known.versions.map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
    </FormProvider>
  );
}

/** Suggestions from the registry: namespaces, the services of this namespace, the versions of this service. */
function useKnownServices(namespace: string, service: string) {
  const trpc = useTRPC();
  const q = useQuery(trpc.service.list.queryOptions({}, { staleTime: 30_000 }));
  const items = q.data?.items ?? [];
  return {
    namespaces: [...new Set(items.map((s) => s.namespace))].sort(),
    services: items.filter((s) => s.namespace === namespace).map((s) => s.name),
    versions: items.find((s) => s.namespace === namespace && s.name === service)?.versions ?? [],
  };
}
