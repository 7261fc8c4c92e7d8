import { IssueList, serviceKey, type ResourceValidation, type ServiceRef } from "../common.js";
import { findService, othersInForce, type ValidationContext } from "../context.js";
import { accessVerdict, ruleCoversAllRequests, type AccessPolicyResource } from "./schema.js";

/**
 * Semantic checks of an AccessPolicy that has passed its schema. None of them is an error: every AccessPolicy
 * that parses means something precise. Warnings:
 * - a deny rule without `from`, methods or paths refuses every request to the service (intended for a lockdown,
 *   a disaster otherwise);
 * - with the registry: the protected service is not registered (yet); a `from` names a service that is not
 *   registered (a typo allows nobody, or denies nobody); the protected service is TCP and a rule has methods or
 *   paths, which a connection cannot meet (an allow rule then allows no connection, a deny rule denies every
 *   connection of its callers);
 * - with telemetry: together with the other AccessPolicies of the service, the policy refuses every request of
 *   every caller seen recently.
 */
export function validateAccessPolicy(
  policy: AccessPolicyResource,
  ctx: ValidationContext,
): ResourceValidation {
  const out = new IssueList();
  const { spec } = policy;
  const ns = policy.metadata.namespace;
  const target: ServiceRef = { namespace: ns, service: spec.service };

  spec.deny?.forEach((r, i) => {
    if (r.from === undefined && ruleCoversAllRequests(r)) {
      out.warn(["spec", "deny", i], `refuses every request to ${serviceKey(target)}`);
    }
  });

  const protocol = findService(ctx, target)?.protocol ?? "http";
  if (ctx.services !== undefined) {
    if (findService(ctx, target) === undefined) {
      out.warn(
        ["spec", "service"],
        `no service ${serviceKey(target)} is registered (yet); the policy applies once it is`,
      );
    }
    if (protocol === "tcp") {
      spec.allow?.forEach((r, i) => {
        if (!ruleCoversAllRequests(r)) {
          out.warn(
            ["spec", "allow", i],
            `${serviceKey(target)} is a TCP service: a rule with methods or paths allows no connection to it`,
          );
        }
      });
      spec.deny?.forEach((r, i) => {
        if (!ruleCoversAllRequests(r)) {
          out.warn(
            ["spec", "deny", i],
            `${serviceKey(target)} is a TCP service: methods and paths are ignored, the rule denies every connection of the callers it names`,
          );
        }
      });
    }
    for (const list of ["allow", "deny"] as const) {
      spec[list]?.forEach((r, i) =>
        r.from?.forEach((s, j) => {
          if (s.service === undefined) return;
          const ref = { namespace: s.namespace ?? ns, service: s.service };
          if (findService(ctx, ref) === undefined) {
            out.warn(["spec", list, i, "from", j, "service"], `no service ${serviceKey(ref)} is registered`);
          }
        }),
      );
    }
  }

  if (ctx.traffic !== undefined) {
    const callers = new Map<string, ServiceRef>();
    for (const e of ctx.traffic) {
      if (e.destination.namespace === ns && e.destination.service === spec.service)
        callers.set(serviceKey(e.source), e.source);
    }
    if (callers.size > 0) {
      const policies = [
        ...othersInForce(ctx, policy).filter(
          (p) => p.metadata.namespace === ns && p.spec.service === spec.service,
        ),
        policy,
      ];
      const keys = [...callers.keys()].sort();
      if (keys.every((k) => accessVerdict(policies, callers.get(k)!, protocol) === "denied")) {
        out.warn(["spec"], `cuts off every caller seen recently: ${keys.join(", ")}`);
      }
    }
  }
  return out.result();
}
