import { IssueList, type ResourceValidation } from "../common.js";
import { checkRuleTimings } from "../route/validate.js";
import type { MeshSettingsResource } from "./schema.js";

/**
 * Semantic checks of MeshSettings. errors: the default retries' own rules (as for a Route rule: codes listed
 * when `retriable-status-codes` is on, backoff max at least base). warnings: permissive mTLS (plain-text callers
 * are accepted and cannot be told apart by AccessPolicies); default perTryTimeout not shorter than the default
 * timeout.
 */
export function validateMeshSettings(settings: MeshSettingsResource, _ctx: unknown): ResourceValidation {
  const out = new IssueList();
  const { spec } = settings;
  if (spec.mtls?.mode === "permissive") {
    out.warn(
      ["spec", "mtls", "mode"],
      "permissive: workloads also accept plain text, and AccessPolicy rules with `from` cannot match such callers",
    );
  }
  if (spec.defaults) checkRuleTimings(spec.defaults, ["spec", "defaults"], out);
  return out.result();
}
