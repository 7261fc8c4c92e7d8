// Route matching, compiled once per config into plain predicates. A route with an empty match compiles to
// null, which the router treats as "always" without calling anything.
import type { KeyMatch, RouteMatch, StringMatch } from "@trellis/contracts/proxy";
import type { IncomingHttpHeaders } from "node:http";

export type StringPredicate = (v: string) => boolean;

export function stringMatcher(m: StringMatch): StringPredicate {
  if ("exact" in m) {
    const x = m.exact;
    return (v) => v === x;
  }
  if ("prefix" in m) {
    const p = m.prefix;
    return (v) => v.startsWith(p);
  }
  const re = new RegExp(m.regex);
  return (v) => re.test(v);
}

/** Request facts a route may look at; query is parsed only when some route needs it. */
export interface MatchInput {
  method: string;
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
}

export type RoutePredicate = (r: MatchInput) => boolean;

function keyMatcher(
  k: KeyMatch,
  get: (r: MatchInput, name: string) => string | undefined,
  name: string,
): RoutePredicate {
  const value = k.value ? stringMatcher(k.value) : null;
  const invert = k.invert;
  return (r) => {
    const v = get(r, name);
    const hit = v !== undefined && (value === null || value(v));
    return hit !== invert;
  };
}

const headerValue = (r: MatchInput, name: string): string | undefined => {
  const v = r.headers[name];
  return Array.isArray(v) ? v.join(",") : v;
};
const queryValue = (r: MatchInput, name: string): string | undefined =>
  new URLSearchParams(r.query).get(name) ?? undefined;

export function compileMatch(m: RouteMatch): RoutePredicate | null {
  const preds: RoutePredicate[] = [];
  if (m.path) {
    const p = stringMatcher(m.path);
    preds.push((r) => p(r.path));
  }
  if (m.methods) {
    const set = new Set(m.methods);
    preds.push((r) => set.has(r.method));
  }
  for (const h of m.headers) preds.push(keyMatcher(h, headerValue, h.name.toLowerCase()));
  for (const q of m.query) preds.push(keyMatcher(q, queryValue, q.name));
  if (preds.length === 0) return null;
  if (preds.length === 1) return preds[0]!;
  return (r) => {
    for (let i = 0; i < preds.length; i++) if (!preds[i]!(r)) return false;
    return true;
  };
}
