// The console's Content-Security-Policy, one per page response (proxy.ts sets it). Edit when the console
// starts to load something from elsewhere, or a page needs a kind of content the policy refuses: the e2e
// spec sign-in.spec.ts fails on any violation.

/**
 * The policy for a page rendered with `nonce`. Scripts run only with the nonce Next.js puts on its own tags
 * (and what those load: 'strict-dynamic'), so an injected <script> or event-handler attribute does not run.
 * Style elements take the nonce too; style attributes are allowed because React renders `style={…}` into them
 * (charts, the graph) and they cannot run code.
 */
export function contentSecurityPolicy(nonce: string, dev = false): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    `style-src 'self' 'nonce-${nonce}'`,
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' blob: data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** For API responses (JSON, never rendered): nothing may load, nothing may frame them. */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

/** 128 random bits, base64: a fresh one for every page response. */
export function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}
