"use client";
// The form view of a Route: the service, then its ordered rules, each with a match, weighted backends by
// version, a timeout, retries and fault injection. Header edits and rate limits stay in the YAML view (the form
// names them when present). Retries are shared with MeshSettings' defaults.
import { effectiveBackends, type RouteRuleSpec } from "@trellis/contracts";
import { getIn } from "./resource-doc";
import { keyOrder, type Path } from "./resource-schema";
import {
  AddButton,
  Field,
  FieldIssues,
  Group,
  ItemActions,
  NotShown,
  set,
  useForm,
  useIssueAria,
  useList,
  useValue,
} from "./form-fields";

const RULES: Path = ["spec", "rules"];
const RULE_SHOWN = ["name", "match", "backends", "timeout", "retries", "fault"];

export function RouteForm() {
  const rules = useList(RULES);
  return (
    <>
      <div className="form-grid">
        <Field
          path={["spec", "service"]}
          label="Service"
          hint="The service whose callers this Route steers, in the Route's namespace."
          list="editor-services"
        />
      </div>
      <Group
        path={RULES}
        legend="Rules"
        hint="Tried in order: the first whose match holds decides. Requests no rule matches go to every version."
      >
        {rules.map((_, i) => (
          <RuleEditor key={i} index={i} count={rules.length} />
        ))}
        <AddButton path={RULES} value={{}}>
          Add rule
        </AddButton>
      </Group>
      <NotShown path={["spec"]} shown={["service", "rules"]} />
    </>
  );
}

function RuleEditor({ index, count }: { index: number; count: number }) {
  const path = [...RULES, index];
  const aria = useIssueAria(path);
  const name = useValue([...path, "name"]);
  const retries = useValue([...path, "retries"]);
  const fault = useValue([...path, "fault"]);
  return (
    <fieldset className="form-rule" {...aria} tabIndex={-1}>
      <legend>
        Rule {index + 1}
        {typeof name === "string" && name !== "" ? `: ${name}` : ""}
      </legend>
      <div className="form-rule-head">
        <FieldIssues path={path} />
        <ItemActions path={RULES} index={index} count={count} noun="rule" canRemove={count > 1} />
      </div>
      <div className="form-grid">
        <Field path={[...path, "name"]} label="Rule name" hint="Optional; shown in telemetry." />
        <Field
          path={[...path, "timeout"]}
          label="Timeout"
          placeholder="15s"
          hint="Until response headers, retries included; 0s: none."
        />
      </div>
      <MatchEditor path={[...path, "match"]} />
      <BackendsEditor path={[...path, "backends"]} />
      <details className="form-more" open={retries !== undefined}>
        <summary>Retries{retries === undefined ? " (the mesh's defaults)" : ""}</summary>
        <RetryFields path={[...path, "retries"]} hideLegend />
      </details>
      <details className="form-more" open={fault !== undefined}>
        <summary>Fault injection{fault === undefined ? " (none)" : ""}</summary>
        <FaultFields path={[...path, "fault"]} />
      </details>
      <NotShown path={path} shown={RULE_SHOWN} />
    </fieldset>
  );
}

function MatchEditor({ path }: { path: Path }) {
  return (
    <Group path={path} legend="Match" hint="All given conditions must hold; none: every request.">
      <div className="form-grid">
        <StringMatch path={[...path, "path"]} label="Path" />
        <Field
          path={[...path, "methods"]}
          label="Methods"
          placeholder="any"
          hint="Comma-separated, e.g. GET, POST; empty: any."
        />
      </div>
      <KeyMatches path={[...path, "headers"]} noun="header" legend="Headers" />
      <KeyMatches path={[...path, "query"]} noun="query parameter" legend="Query parameters" />
      <NotShown path={path} shown={["path", "methods", "headers", "query"]} />
    </Group>
  );
}

/** How a string is matched: the schema's own modes (exact, prefix, regex), or not at all. */
function StringMatch({ path, label }: { path: Path; label: string }) {
  const f = useForm();
  const v = useValue(path);
  const modes = keyOrder(f.schema, path);
  const obj = typeof v === "object" && v !== null ? (v as Record<string, unknown>) : undefined;
  const mode = obj ? (modes.find((m) => m in obj) ?? "") : "";
  const text = mode && obj ? obj[mode] : undefined;
  const aria = useIssueAria(path);
  return (
    <div className="form-field">
      <div className="form-row">
        <label>
          {label}
          <select
            {...aria}
            value={mode}
            disabled={f.readOnly}
            onChange={(e) => {
              const m = e.target.value;
              f.edit(set(path, m === "" ? undefined : { [m]: typeof text === "string" ? text : "/" }));
            }}
          >
            <option value="">any {label.toLowerCase()}</option>
            {modes.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        {mode !== "" && (
          <Field path={[...path, mode]} label={`${label} (${mode})`} placeholder="/api" keepEmpty />
        )}
      </div>
      <FieldIssues path={path} />
    </div>
  );
}

/** Header or query parameter conditions: a name, how its value is matched (or only present), and invert. */
function KeyMatches({ path, noun, legend }: { path: Path; noun: string; legend: string }) {
  const f = useForm();
  const items = useList(path);
  // The modes are the string match's: one schema says what a header condition can be.
  const modes = keyOrder(f.schema, [...path, 0]).filter((k) => k !== "name" && k !== "invert");
  return (
    <Group path={path} legend={legend} className="form-list">
      {items.map((item, i) => {
        const at = [...path, i];
        const n = i + 1;
        const mode = modes.find((m) => getIn(item, [m]) !== undefined) ?? "";
        return (
          <div key={i} role="group" aria-label={`${legend} condition ${n}`} className="form-row">
            <Field path={[...at, "name"]} label="Name" ariaLabel={`Name of ${noun} ${n}`} />
            <label>
              <span aria-hidden="true">Value</span>
              <select
                aria-label={`How ${noun} ${n} is matched`}
                value={mode}
                disabled={f.readOnly}
                onChange={(e) => {
                  const m = e.target.value;
                  const old = mode ? getIn(item, [mode]) : undefined;
                  f.edit(
                    ...modes.filter((x) => x !== m).map((x) => set([...at, x], undefined)),
                    ...(m ? [set([...at, m], typeof old === "string" ? old : "")] : []),
                  );
                }}
              >
                <option value="">is present</option>
                {modes.map((m) => (
                  <option key={m} value={m}>
                    {m}
                  </option>
                ))}
              </select>
            </label>
            {mode !== "" && (
              <Field
                path={[...at, mode]}
                label={mode}
                ariaLabel={`Value of ${noun} ${n} (${mode})`}
                keepEmpty
              />
            )}
            <Field path={[...at, "invert"]} label="Invert" ariaLabel={`Invert ${noun} ${n}`} />
            <ItemActions path={path} index={i} count={items.length} noun={noun} />
            <FieldIssues path={at} />
          </div>
        );
      })}
      <AddButton path={path} value={{ name: "" }}>
        Add {noun}
      </AddButton>
    </Group>
  );
}

function BackendsEditor({ path }: { path: Path }) {
  const f = useForm();
  const items = useList(path);
  // The weights the proxies would use (a lone backend without weight gets 100), as the contracts compute them.
  const effective =
    effectiveBackends({
      backends: items.map((b) => {
        const w = getIn(b, ["weight"]);
        return {
          version: String(getIn(b, ["version"]) ?? ""),
          weight: typeof w === "number" ? w : undefined,
        };
      }),
    } as RouteRuleSpec) ?? [];
  const sum = effective.reduce((acc, b) => acc + b.weight, 0);
  const add = () => {
    const lone = items.length === 1 && getIn(items[0], ["weight"]) === undefined;
    f.edit(...(lone ? [set([...path, 0, "weight"], 100)] : []), {
      op: "insert",
      path,
      value: { version: "", weight: Math.max(0, 100 - sum) },
    });
  };
  return (
    <Group path={path} legend="Backends" className="form-list">
      {items.length === 0 ? (
        <p className="muted form-hint">None: every version of the service, each workload an equal share.</p>
      ) : (
        items.map((_, i) => (
          <div key={i} role="group" aria-label={`Backend ${i + 1}`} className="form-row">
            <Field
              path={[...path, i, "version"]}
              label="Version"
              ariaLabel={`Version of backend ${i + 1}`}
              list="editor-versions"
            />
            <Field
              path={[...path, i, "weight"]}
              label="Weight (%)"
              ariaLabel={`Weight of backend ${i + 1}`}
            />
            <ItemActions path={path} index={i} count={items.length} noun="backend" />
            <FieldIssues path={[...path, i]} />
          </div>
        ))
      )}
      {items.length > 0 && (
        <p className={`form-sum ${sum === 100 ? "ok" : "warning"}`} aria-live="polite">
          Total {sum}%{sum === 100 ? " ✓" : ": weights must sum to 100"}
        </p>
      )}
      {!f.readOnly && (
        <button type="button" className="secondary small" onClick={add}>
          Add backend
        </button>
      )}
    </Group>
  );
}

/** Retries: a rule's, or the mesh's defaults. */
export function RetryFields({ path, hideLegend }: { path: Path; hideLegend?: boolean }) {
  return (
    <Group path={path} legend="Retries" hideLegend={hideLegend}>
      <div className="form-grid">
        <Field
          path={[...path, "attempts"]}
          label="Attempts"
          hint="After the first try; 0 turns retries off."
        />
        <Field path={[...path, "perTryTimeout"]} label="Per-try timeout" placeholder="none" />
        <Field path={[...path, "backoff", "base"]} label="Backoff base" placeholder="25ms" />
        <Field path={[...path, "backoff", "max"]} label="Backoff max" placeholder="250ms" />
        <Field
          path={[...path, "retriableStatusCodes"]}
          label="Status codes to retry"
          placeholder="503, 504"
        />
      </div>
      <Field path={[...path, "retryOn"]} label="Retry on" hint="None ticked: connect-failure, reset, 5xx." />
      <Field
        path={[...path, "retryNonIdempotent"]}
        label="Also retry POST, PATCH and other non-idempotent methods"
      />
      <NotShown
        path={path}
        shown={[
          "attempts",
          "perTryTimeout",
          "backoff",
          "retriableStatusCodes",
          "retryOn",
          "retryNonIdempotent",
        ]}
      />
    </Group>
  );
}

function FaultFields({ path }: { path: Path }) {
  return (
    <Group
      path={path}
      legend="Fault injection"
      hideLegend
      hint="To test how callers cope; percentages are of the rule's requests."
    >
      <div className="form-grid">
        <Group path={[...path, "delay"]} legend="Delay">
          <Field path={[...path, "delay", "percent"]} label="Percent delayed" />
          <Field path={[...path, "delay", "duration"]} label="Delay" placeholder="1s" />
        </Group>
        <Group path={[...path, "abort"]} legend="Abort">
          <Field path={[...path, "abort", "percent"]} label="Percent aborted" />
          <Field path={[...path, "abort", "status"]} label="Status" placeholder="503" />
        </Group>
      </div>
    </Group>
  );
}
