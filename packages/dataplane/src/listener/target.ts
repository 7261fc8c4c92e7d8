// The HTTP/1.1 request target (RFC 9112 §3.2). Apps that use the outbound listener as HTTP_PROXY send
// absolute-form (`GET http://reviews/p?q`); everything else sends origin-form (`GET /p?q`). Upstreams always
// get origin-form, and routes and AccessPolicies always see the path, never a URL.

/** `scheme://authority` at the start of an absolute-form target (RFC 3986 scheme; authority ends at / ? #). */
const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/;

/** The authority and origin-form path of an absolute-form target, or null when `url` is not absolute-form. */
export function splitAbsolute(url: string): { authority: string; path: string } | null {
  const m = ABSOLUTE.exec(url);
  if (m === null) return null;
  const rest = url.slice(m[0].length);
  return { authority: m[1]!, path: rest.charCodeAt(0) === 47 /* / */ ? rest : `/${rest}` };
}
