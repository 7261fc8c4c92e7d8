// Authorization of callers on the inbound side: by SPIFFE identity (or its namespace/service), method and path.
// Deny rules win; when allow rules exist, a request must match one of them. Rules compile once per config.
// Raw TCP connections (listener/tcp.ts) are judged by the same rules, by caller only, as Istio does for TCP
// workloads and failing closed: an allow rule with an HTTP-only condition (`methods`, `paths`) matches no
// connection, a deny rule with one applies on its caller conditions alone (it denies more, never less).
import { parseSpiffeId, type AuthorizationRule } from "@trellis/contracts/proxy";
import { ProxyError } from "../core/errors.js";
import type { Layer, ProxyRequest } from "../core/types.js";

type Check = (req: ProxyRequest, peer: string | null, path: string) => boolean;
type CallerCheck = (peer: string | null) => boolean;

/** The rule's caller conditions. `peer` null: a caller without a mesh identity (permissive mTLS). */
function compileFrom(from: AuthorizationRule["from"]): CallerCheck {
  if (from === undefined) return () => true;
  const ids = new Set(from.identities);
  const nss = new Set(from.namespaces);
  const svcs = new Set(from.services);
  return (peer) => {
    if (peer === null) return false;
    if (ids.size > 0 && ids.has(peer)) return true;
    const parts = parseSpiffeId(peer);
    if (parts === null) return false;
    if (nss.size > 0 && svcs.size > 0) return nss.has(parts.namespace) && svcs.has(parts.service);
    if (nss.size > 0) return nss.has(parts.namespace);
    if (svcs.size > 0) return svcs.has(parts.service);
    return ids.size === 0; // `from: {}`: any authenticated caller
  };
}

function compileRule(r: AuthorizationRule): Check {
  const caller = compileFrom(r.from);
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
    return caller(peer);
  };
}

/** Whether a rule has a condition that only an HTTP request can meet. */
function httpOnly(r: AuthorizationRule): boolean {
  return r.methods !== undefined || r.paths !== undefined;
}

/**
 * Why a raw TCP connection from `peer` is refused, or null when it may go on to the app. Same precedence as
 * for HTTP (deny wins; with allow rules, one must match; no rules: open), but `methods` and `paths` cannot be
 * known on a connection: an allow rule with either never matches, a deny rule with either is judged on `from`.
 */
export type TcpAuthorizer = (peer: string | null) => string | null;

export function tcpAuthz(rules: readonly AuthorizationRule[]): TcpAuthorizer {
  if (rules.length === 0) return () => null;
  const deny = rules.filter((r) => r.action === "deny").map((r) => compileFrom(r.from));
  const allowRules = rules.filter((r) => r.action === "allow");
  const allow = allowRules.filter((r) => !httpOnly(r)).map((r) => compileFrom(r.from));
  const anyAllow = allowRules.length > 0;
  return (peer) => {
    const who = peer ?? "unauthenticated caller";
    if (deny.some((d) => d(peer))) return `denied by policy for ${who}`;
    if (anyAllow && !allow.some((a) => a(peer))) return `no allow rule matches ${who} over tcp`;
    return null;
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
