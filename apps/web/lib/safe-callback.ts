// Where a browser may be sent after sign-in or sign-out. The callbackUrl comes from the query string (anyone
// can put a link to /login?callbackUrl=… in a mail), so it is reduced to a path on the console's own origin.
// Used by the login page (for the client-side redirect after a password sign-in) and by next-auth's redirect
// callback (single sign-on and sign-out). Edit with its test beside it: every bypass found so far is listed.

/** A stand-in origin that no input can name: what a path resolves against to see whether it leaves. */
const PROBE = "http://trellis-callback.invalid";

/**
 * `raw` as a same-origin path (`/path?query#hash`), or "/" when it is missing, unparsable or could lead
 * anywhere else. Absolute URLs are accepted only with `ownOrigin` (then reduced to their path).
 *
 * Resolving with URL, as the browser will, catches what string checks miss: backslashes, tabs and newlines
 * the parser drops, dot segments, `javascript:`. The result is then checked once more as the relative URL it
 * becomes: a path that starts with `//` (e.g. `/./\/evil` → `///evil`) would be read as protocol-relative.
 */
export function safeCallbackPath(raw: unknown, ownOrigin?: string): string {
  if (typeof raw !== "string" || raw === "") return "/";
  let url: URL;
  try {
    const own = ownOrigin ? new URL(ownOrigin).origin : undefined;
    url = new URL(raw, own ?? PROBE);
    if (url.origin !== (own ?? PROBE)) return "/";
  } catch {
    return "/";
  }
  const path = url.pathname + url.search + url.hash;
  if (!path.startsWith("/") || path.startsWith("//") || path.startsWith("/\\")) return "/";
  // Idempotent: the path, read again as the browser will read it, must stay on the probe origin unchanged.
  const again = new URL(path, PROBE);
  if (again.origin !== PROBE || again.pathname + again.search + again.hash !== path) return "/";
  return path;
}
