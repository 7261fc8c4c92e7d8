import { spiffeId, type AccessPolicyResource, type AccessRuleSpec } from "@trellis/contracts";
import type { AuthorizationRuleInput } from "./proxy-types.js";
import { cmp, withoutUndefined } from "./util.js";

// AccessPolicies → the inbound authorization rules of the protected service's workloads. Only the protected
// service's proxies enforce them; callers are given the service either way (see compileProxyConfig).
// When to edit this file: when ZAccessRuleSpec or the proxy's ZAuthorizationRule gains a condition.

/**
 * The authorization rules of one service: deny rules first, then allow rules, each in policy-name order, so
 * the output is stable. The proxy gives deny precedence and requires an allow match when any allow exists,
 * exactly the resource's semantics, so the order only serves determinism and readability.
 */
export function compileAuthorization(
  policies: readonly AccessPolicyResource[],
  trustDomain: string,
): AuthorizationRuleInput[] {
  const sorted = [...policies].sort((a, b) => cmp(a.metadata.name, b.metadata.name));
  const out: AuthorizationRuleInput[] = [];
  for (const action of ["deny", "allow"] as const) {
    for (const p of sorted) {
      for (const r of p.spec[action] ?? [])
        out.push(compileRule(action, r, p.metadata.namespace, trustDomain));
    }
  }
  return out;
}

function compileRule(
  action: "allow" | "deny",
  r: AccessRuleSpec,
  policyNamespace: string,
  trustDomain: string,
): AuthorizationRuleInput {
  let from: AuthorizationRuleInput["from"];
  if (r.from !== undefined) {
    // A source naming a service becomes its exact SPIFFE ID; a namespace alone becomes a namespace condition.
    // The proxy ORs identities and namespaces as long as its `services` list stays empty, which it does here.
    const identities = new Set<string>();
    const namespaces = new Set<string>();
    for (const s of r.from) {
      if (s.service !== undefined)
        identities.add(spiffeId(trustDomain, s.namespace ?? policyNamespace, s.service));
      else if (s.namespace !== undefined) namespaces.add(s.namespace);
    }
    from = { identities: [...identities].sort(cmp), namespaces: [...namespaces].sort(cmp), services: [] };
  }
  return withoutUndefined({
    action,
    from,
    methods: r.methods ? [...new Set(r.methods)].sort(cmp) : undefined,
    paths: r.paths ? [...new Set(r.paths)].sort(cmp) : undefined,
  });
}
