import { durationMs, IssueList, type ResourceValidation } from "../common.js";
import { findService, othersInForce, type ValidationContext } from "../context.js";
import type { DestinationPolicyResource } from "./schema.js";

/**
 * Semantic checks of a DestinationPolicy that has passed its schema.
 *
 * errors: another DestinationPolicy already targets the same service (policies do not merge; one per service).
 * warnings: a health check whose timeout is not shorter than its interval (probes overlap); outlier detection
 * with both thresholds at 0 (it never ejects); a ring hash on a tcp service (TCP has no headers, so it falls
 * back to least request); with the registry: the service is not registered (yet).
 */
export function validateDestinationPolicy(
  policy: DestinationPolicyResource,
  ctx: ValidationContext,
): ResourceValidation {
  const out = new IssueList();
  const { spec } = policy;
  const ns = policy.metadata.namespace;

  const hc = spec.healthCheck;
  if (
    hc?.interval !== undefined &&
    hc.timeout !== undefined &&
    durationMs(hc.timeout) >= durationMs(hc.interval)
  ) {
    out.warn(
      ["spec", "healthCheck", "timeout"],
      `is not shorter than interval (${hc.interval}): probes will overlap`,
    );
  }
  const od = spec.outlierDetection;
  if (od && od.consecutive5xx === 0 && od.consecutiveGatewayErrors === 0) {
    out.warn(
      ["spec", "outlierDetection"],
      "both consecutive5xx and consecutiveGatewayErrors are 0: nothing is ever ejected",
    );
  }

  if (ctx.services !== undefined) {
    const svc = findService(ctx, { namespace: ns, service: spec.service });
    if (svc === undefined) {
      out.warn(
        ["spec", "service"],
        `no service ${ns}/${spec.service} is registered (yet); the policy applies once it is`,
      );
    } else if (svc.protocol === "tcp" && spec.loadBalancer?.type === "ringHash") {
      out.warn(
        ["spec", "loadBalancer"],
        `${ns}/${svc.name} is a tcp service: without headers to hash, it balances by least request`,
      );
    }
  }

  for (const other of othersInForce(ctx, policy)) {
    if (other.metadata.namespace === ns && other.spec.service === spec.service) {
      out.error(
        ["spec", "service"],
        `DestinationPolicy ${other.metadata.name} already applies to ${ns}/${spec.service}; one per service`,
      );
    }
  }
  return out.result();
}
