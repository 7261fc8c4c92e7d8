// Authorization of callers on the inbound side: by SPIFFE identity (or its namespace/service), method and path.
// Deny rules win; when allow rules exist, a request must match one of them. Rules compile once per config.
import type { AuthorizationRule } from "@trellis/contracts";
import { ProxyError } from "../core/errors.js";
import type { Layer, ProxyRequest } from "../core/types.js";
import { parseSpiffeId } from "../tls/identity.js";

type Check = (req: ProxyRequest, peer: string | null, path: string) => boolean;

function compileRule(r: AuthorizationRule): Check {
  const from = r.from;
  const ids = from ? new Set(from.identities) : null;
  const nss = from ? new Set(from.namespaces) : null;
  const svcs = from ? new Set(from.services) : null;
  const methods = r.methods ? new Set(r.methods.map((m) => m.toUpperCase())) : null;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const p of r.paths ?? []) {
    if (p.endsWith("*")) prefixes.push(p.slice(0, -1));
    else exact.add(p);
  }
  const anyPath = r.paths === undefined;
  return (req, peer, path) => {
    if (methods !== null && !methods.has(req.method)) return false;
    if (!anyPath && !exact.has(path) && !prefixes.some((p) => path.startsWith(p))) return false;
    if (from === undefined) return true;
    if (peer === null) return false;
    if (ids!.size > 0 && ids!.has(peer)) return true;
    const parts = parseSpiffeId(peer);
    if (parts === null) return false;
    if (nss!.size > 0 && svcs!.size > 0) return nss!.has(parts.namespace) && svcs!.has(parts.service);
    if (nss!.size > 0) return nss!.has(parts.namespace);
    if (svcs!.size > 0) return svcs!.has(parts.service);
    return ids!.size === 0; // `from: {}`: any authenticated caller
  };
}

export function authz(rules: readonly AuthorizationRule[]): Layer {
  if (rules.length === 0) return (next) => next;
  const deny = rules.filter((r) => r.action === "deny").map(compileRule);
  const allow = rules.filter((r) => r.action === "allow").map(compileRule);
  return (next) => (req, ctx) => {
    const q = req.path.indexOf("?");
    const path = q === -1 ? req.path : req.path.slice(0, q);
    const peer = ctx.peerId;
    for (const d of deny)
      if (d(req, peer, path))
        return Promise.reject(
          new ProxyError("DP_FORBIDDEN", `denied by policy for ${peer ?? "unauthenticated caller"}`),
        );
    if (allow.length > 0 && !allow.some((a) => a(req, peer, path))) {
      return Promise.reject(
        new ProxyError("DP_FORBIDDEN", `no allow rule matches ${peer ?? "unauthenticated caller"}`),
      );
    }
    return next(req, ctx);
  };
}
