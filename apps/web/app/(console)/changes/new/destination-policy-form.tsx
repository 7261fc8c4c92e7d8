"use client";
// The form view of a DestinationPolicy: how callers pick a workload and how the service is protected (circuit
// breaker, outlier detection, health checks, rate limit). Every field is optional; an empty section is left out.
import { DESTINATION_POLICY_DEFAULTS as D } from "@trellis/contracts";
import { fieldSpec, variantKeys, type Path } from "./resource-schema";
import { Field, FieldIssues, Group, NotShown, set, useForm, useIssueAria, useValue } from "./form-fields";

const SPEC: Path = ["spec"];

export function DestinationPolicyForm() {
  const spec = useValue(SPEC);
  const has = (k: string) =>
    typeof spec === "object" && spec !== null && (spec as Record<string, unknown>)[k] !== undefined;
  const open = {
    circuitBreaker: has("circuitBreaker"),
    outlierDetection: has("outlierDetection"),
    healthCheck: has("healthCheck"),
    rateLimit: has("rateLimit"),
  };
  return (
    <>
      <div className="form-grid">
        <Field
          path={[...SPEC, "service"]}
          label="Service"
          hint="The service this policy protects, in the policy's namespace."
          list="editor-services"
        />
        <Field
          path={[...SPEC, "idleTimeout"]}
          label="Idle timeout"
          placeholder={D.idleTimeout}
          hint="Before a pooled connection is closed."
        />
      </div>
      <LoadBalancer />
      <details className="form-more" open={open.circuitBreaker}>
        <summary>Circuit breaker{open.circuitBreaker ? "" : " (the proxy's limits: 1024 each)"}</summary>
        <Group
          path={[...SPEC, "circuitBreaker"]}
          legend="Circuit breaker"
          hideLegend
          hint="Each calling proxy sheds load past these at once (503)."
        >
          <div className="form-grid">
            <Field
              path={[...SPEC, "circuitBreaker", "maxConnections"]}
              label="Max connections"
              placeholder={String(D.circuitBreaker.maxConnections)}
            />
            <Field
              path={[...SPEC, "circuitBreaker", "maxPendingRequests"]}
              label="Max pending requests"
              placeholder={String(D.circuitBreaker.maxPendingRequests)}
            />
            <Field
              path={[...SPEC, "circuitBreaker", "maxRequests"]}
              label="Max requests in flight"
              placeholder={String(D.circuitBreaker.maxRequests)}
            />
          </div>
        </Group>
      </details>
      <details className="form-more" open={open.outlierDetection}>
        <summary>Outlier detection{open.outlierDetection ? "" : " (off)"}</summary>
        <Group
          path={[...SPEC, "outlierDetection"]}
          legend="Outlier detection"
          hideLegend
          hint="A workload that fails repeatedly is taken out of rotation for a while."
        >
          <div className="form-grid">
            <Field
              path={[...SPEC, "outlierDetection", "consecutive5xx"]}
              label="Consecutive 5xx"
              placeholder={String(D.outlierDetection.consecutive5xx)}
            />
            <Field
              path={[...SPEC, "outlierDetection", "consecutiveGatewayErrors"]}
              label="Consecutive gateway errors"
              placeholder={String(D.outlierDetection.consecutiveGatewayErrors)}
            />
            <Field
              path={[...SPEC, "outlierDetection", "baseEjectionTime"]}
              label="Base ejection time"
              placeholder={D.outlierDetection.baseEjectionTime}
            />
            <Field
              path={[...SPEC, "outlierDetection", "maxEjectionPercent"]}
              label="Max ejection (%)"
              placeholder={String(D.outlierDetection.maxEjectionPercent)}
            />
            <Field
              path={[...SPEC, "outlierDetection", "interval"]}
              label="Interval"
              placeholder={D.outlierDetection.interval}
            />
          </div>
        </Group>
      </details>
      <details className="form-more" open={open.healthCheck}>
        <summary>Health check{open.healthCheck ? "" : " (off)"}</summary>
        <Group
          path={[...SPEC, "healthCheck"]}
          legend="Health check"
          hideLegend
          hint="Every calling proxy probes every workload with GET; any 2xx is healthy."
        >
          <div className="form-grid">
            <Field path={[...SPEC, "healthCheck", "path"]} label="Path" placeholder={D.healthCheck.path} />
            <Field
              path={[...SPEC, "healthCheck", "interval"]}
              label="Interval"
              placeholder={D.healthCheck.interval}
            />
            <Field
              path={[...SPEC, "healthCheck", "timeout"]}
              label="Timeout"
              placeholder={D.healthCheck.timeout}
            />
            <Field
              path={[...SPEC, "healthCheck", "unhealthyThreshold"]}
              label="Unhealthy after"
              placeholder={String(D.healthCheck.unhealthyThreshold)}
            />
            <Field
              path={[...SPEC, "healthCheck", "healthyThreshold"]}
              label="Healthy after"
              placeholder={String(D.healthCheck.healthyThreshold)}
            />
          </div>
        </Group>
      </details>
      <details className="form-more" open={open.rateLimit}>
        <summary>Rate limit{open.rateLimit ? "" : " (none)"}</summary>
        <Group
          path={[...SPEC, "rateLimit"]}
          legend="Rate limit"
          hideLegend
          hint="Enforced by each workload of the service on the way in; excess requests get 429."
        >
          <div className="form-grid">
            <Field path={[...SPEC, "rateLimit", "requestsPerUnit"]} label="Requests" />
            <Field path={[...SPEC, "rateLimit", "unit"]} label="Per" />
            <Field path={[...SPEC, "rateLimit", "burst"]} label="Burst" placeholder="one second's worth" />
          </div>
          <Field path={[...SPEC, "rateLimit", "perCaller"]} label="One bucket per calling service" />
        </Group>
      </details>
      <NotShown
        path={SPEC}
        shown={[
          "service",
          "loadBalancer",
          "circuitBreaker",
          "outlierDetection",
          "healthCheck",
          "rateLimit",
          "idleTimeout",
        ]}
      />
    </>
  );
}

/** The balancer's type, from the schema's variants; a variant's own fields (ringHash's header) appear with it. */
function LoadBalancer() {
  const f = useForm();
  const path: Path = [...SPEC, "loadBalancer"];
  const lb = useValue(path);
  const typePath = [...path, "type"];
  const spec = fieldSpec(f.schema, typePath);
  const options = spec.kind === "choice" ? spec.options : [];
  const type = typeof lb === "object" && lb !== null ? (lb as Record<string, unknown>).type : undefined;
  const extra = variantKeys(f.schema, path, lb).filter((k) => k !== "type");
  const aria = useIssueAria(typePath);
  return (
    <Group path={path} legend="Load balancer">
      <div className="form-grid">
        <div className="form-field">
          <label>
            Type
            <select
              {...aria}
              value={typeof type === "string" ? type : ""}
              disabled={f.readOnly}
              onChange={(e) => {
                const t = e.target.value;
                if (t === "") return f.edit(set(path, undefined));
                // Fields of the old variant that the new one does not have would be refused: leave them out.
                const keep = variantKeys(f.schema, path, { type: t });
                const old = typeof lb === "object" && lb !== null ? (lb as Record<string, unknown>) : {};
                f.edit(
                  set(
                    path,
                    Object.fromEntries([
                      ["type", t],
                      ...Object.entries(old).filter(([k]) => k !== "type" && keep.includes(k)),
                    ]),
                  ),
                );
              }}
            >
              <option value="">(default: roundRobin)</option>
              {options.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          </label>
          <FieldIssues path={typePath} />
        </div>
        {extra.includes("header") && (
          <Field path={[...path, "header"]} label="Hashed header" placeholder="x-user-id" keepEmpty />
        )}
      </div>
    </Group>
  );
}
