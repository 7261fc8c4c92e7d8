"use client";
// The form view of an AccessPolicy: the protected service, then allow and deny rules, each naming callers
// (a service, or a whole namespace), methods and paths. Deny wins over allow; with allow rules, only what they
// match passes (see the schema's doc comment in @trellis/contracts).
import type { Path } from "./resource-schema";
import {
  AddButton,
  Field,
  FieldIssues,
  Group,
  ItemActions,
  NotShown,
  useIssueAria,
  useList,
} from "./form-fields";

export function AccessPolicyForm() {
  return (
    <>
      <div className="form-grid">
        <Field
          path={["spec", "service"]}
          label="Service"
          hint="The service being protected, in the policy's namespace."
          list="editor-services"
        />
      </div>
      <AccessRules
        which="allow"
        hint="When any AccessPolicy of the service has allow rules, only requests one of them matches pass."
      />
      <AccessRules
        which="deny"
        hint="Refused even when an allow rule matches them. A rule with no conditions refuses everything."
      />
      <NotShown path={["spec"]} shown={["service", "allow", "deny"]} />
    </>
  );
}

function AccessRules({ which, hint }: { which: "allow" | "deny"; hint: string }) {
  const path: Path = ["spec", which];
  const rules = useList(path);
  const title = which === "allow" ? "Allow" : "Deny";
  return (
    <Group path={path} legend={title} hint={hint}>
      {rules.length === 0 && <p className="muted form-hint">No {which} rules.</p>}
      {rules.map((_, i) => (
        <AccessRule
          key={i}
          path={[...path, i]}
          title={`${title} rule ${i + 1}`}
          index={i}
          count={rules.length}
          list={path}
        />
      ))}
      <AddButton path={path} value={{ from: [{ service: "" }] }}>
        Add {which} rule
      </AddButton>
    </Group>
  );
}

function AccessRule(props: { path: Path; title: string; index: number; count: number; list: Path }) {
  const { path } = props;
  const aria = useIssueAria(path);
  const from = [...path, "from"];
  const callers = useList(from);
  return (
    <fieldset className="form-rule" {...aria} tabIndex={-1}>
      <legend>{props.title}</legend>
      <div className="form-rule-head">
        <FieldIssues path={path} />
        <ItemActions
          path={props.list}
          index={props.index}
          count={props.count}
          noun={props.title.replace(/ \d+$/, "").toLowerCase()}
        />
      </div>
      <Group
        path={from}
        legend="Callers"
        className="form-list"
        hint={callers.length === 0 ? "Any caller, including callers without a mesh identity." : undefined}
      >
        {callers.map((_, i) => (
          <div key={i} role="group" aria-label={`Caller ${i + 1}`} className="form-row">
            <Field
              path={[...from, i, "service"]}
              label="Service"
              ariaLabel={`Service of caller ${i + 1}`}
              list="editor-services"
            />
            <Field
              path={[...from, i, "namespace"]}
              label="Namespace"
              ariaLabel={`Namespace of caller ${i + 1}`}
              list="editor-namespaces"
              placeholder="the policy's"
            />
            <ItemActions path={from} index={i} count={callers.length} noun="caller" />
            <FieldIssues path={[...from, i]} />
          </div>
        ))}
        <AddButton path={from} value={{ service: "" }}>
          Add caller
        </AddButton>
      </Group>
      <div className="form-grid">
        <Field
          path={[...path, "methods"]}
          label="Methods"
          placeholder="any"
          hint="Comma-separated; empty: any."
        />
        <Field
          path={[...path, "paths"]}
          label="Paths"
          placeholder="any"
          hint="/exact or /prefix/*, comma-separated; empty: any."
        />
      </div>
      <NotShown path={path} shown={["from", "methods", "paths"]} />
    </fieldset>
  );
}
