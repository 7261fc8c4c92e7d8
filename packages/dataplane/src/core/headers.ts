// Header lists are flat arrays `[name, value, ...]` end to end: that is what Node gives (`rawHeaders`) and what
// undici and `writeHead` accept, so forwarding costs one filtering pass and no object building.

/** Hop-by-hop headers (RFC 9110 §7.6.1) and headers undici refuses: never forwarded. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "expect",
  "proxy-authorization",
  "http2-settings",
]);

/** Converts undici's raw response headers to strings, dropping hop-by-hop ones. */
export function forwardResponseHeaders(raw: Buffer[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString("latin1");
    if (HOP_BY_HOP.has(name.toLowerCase())) continue;
    out.push(name, raw[i + 1]!.toString("latin1"));
  }
  return out;
}

export function removeHeader(list: string[], lowerName: string): void {
  let w = 0;
  for (let r = 0; r < list.length; r += 2) {
    if (list[r]!.toLowerCase() === lowerName) continue;
    list[w] = list[r]!;
    list[w + 1] = list[r + 1]!;
    w += 2;
  }
  list.length = w;
}

export function setHeader(list: string[], lowerName: string, value: string): void {
  removeHeader(list, lowerName);
  list.push(lowerName, value);
}
