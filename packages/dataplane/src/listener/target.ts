// The HTTP/1.1 request target (RFC 9112 §3.2). Apps that use the outbound listener as HTTP_PROXY send
// absolute-form (`GET http://reviews/p?q`); everything else sends origin-form (`GET /p?q`). Upstreams always
// get origin-form, and routes and AccessPolicies always see the path, never a URL.

/** The authority and origin-form path of an absolute-form target, or null when `url` is not absolute-form. */
export function splitAbsolute(url: string): { authority: string; path: string } | null {
  const scheme = url.indexOf("://");
  if (scheme === -1) return null;
  const start = scheme + 3;
  let end = start;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 47 /* / */ || c === 63 /* ? */) break;
    end++;
  }
  const rest = url.slice(end);
  return { authority: url.slice(start, end), path: rest.charCodeAt(0) === 47 ? rest : `/${rest}` };
}
