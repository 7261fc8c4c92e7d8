"use client";
// The form view of MeshSettings, the one resource of its kind (mesh in trellis-system): identity, mTLS,
// telemetry, and the defaults Route rules fall back to.
import { DEFAULT_TRUST_DOMAIN, MESH_SETTINGS_DEFAULTS } from "@trellis/contracts";
import type { Path } from "./resource-schema";
import { Field, Group, NotShown, useValue } from "./form-fields";
import { RetryFields } from "./route-form";

const SPEC: Path = ["spec"];

export function MeshSettingsForm() {
  const retries = useValue([...SPEC, "defaults", "retries"]);
  return (
    <>
      <div className="form-grid">
        <Field
          path={[...SPEC, "trustDomain"]}
          label="Trust domain"
          placeholder={DEFAULT_TRUST_DOMAIN}
          hint="Changing it changes every identity: every workload needs a new certificate."
        />
        <Field path={[...SPEC, "mtls", "mode"]} label="Mutual TLS" emptyLabel="(default: strict)" />
      </div>
      <Group path={[...SPEC, "telemetry"]} legend="Telemetry">
        <div className="form-grid">
          <Field
            path={[...SPEC, "telemetry", "reportInterval"]}
            label="Report interval"
            placeholder={MESH_SETTINGS_DEFAULTS.reportInterval}
            hint="1s to 5m."
          />
        </div>
        <Field
          path={[...SPEC, "telemetry", "accessLog"]}
          label="Access log: one JSON line per request on each proxy's stdout"
        />
      </Group>
      <Group path={[...SPEC, "defaults"]} legend="Defaults for Route rules that do not say">
        <div className="form-grid">
          <Field
            path={[...SPEC, "defaults", "timeout"]}
            label="Timeout"
            placeholder={MESH_SETTINGS_DEFAULTS.timeout}
            hint="0s: none."
          />
        </div>
        <details className="form-more" open={retries !== undefined}>
          <summary>Retries{retries === undefined ? " (none)" : ""}</summary>
          <RetryFields path={[...SPEC, "defaults", "retries"]} hideLegend />
        </details>
      </Group>
      <NotShown path={SPEC} shown={["trustDomain", "mtls", "telemetry", "defaults"]} />
    </>
  );
}
