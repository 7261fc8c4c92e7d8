// SPIFFE identities: `spiffe://<trust-domain>/ns/<namespace>/sa/<service>`, carried as a workload
// certificate's URI SAN. The control plane builds them when it signs certificates and compiles access
// policies; the proxy builds them to check a peer and parses them to name the caller. One builder and one
// parser here, so the two sides cannot drift apart.
// When to edit this file: never lightly — every certificate already issued carries this format.

export interface SpiffeParts {
  trustDomain: string;
  namespace: string;
  service: string;
}

/** The SPIFFE ID of a service's workloads in a trust domain. */
export function spiffeId(trustDomain: string, namespace: string, service: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${service}`;
}

// Each part is held to the SPIFFE ID spec's character set (standards/SPIFFE-ID.md, 2.1 and 2.2), not to "anything
// but a slash": that let through a trailing line break ("…/sa/b\n" named the service "b\n"), other white space
// and control characters, percent-encoding ("b%2F"), a port or user info, a query and a fragment, each an ID
// that is not the one it resembles. A trust domain is lowercase letters, digits, `.`, `-` and `_`; a path
// segment adds uppercase letters and must not be `.` or `..` (checked below: a regex would hide it).
const SPIFFE_RE = /^spiffe:\/\/([a-z0-9._-]+)\/ns\/([A-Za-z0-9._-]+)\/sa\/([A-Za-z0-9._-]+)$/;

const isDotSegment = (segment: string) => segment === "." || segment === "..";

/** The parts of a SPIFFE ID in Trellis's format, or null for anything else (refused, never guessed at). */
export function parseSpiffeId(id: string): SpiffeParts | null {
  const m = SPIFFE_RE.exec(id);
  if (m === null) return null;
  const parts = { trustDomain: m[1]!, namespace: m[2]!, service: m[3]! };
  return isDotSegment(parts.namespace) || isDotSegment(parts.service) ? null : parts;
}

/** The SPIFFE ID among a certificate's subject alternative names as Node prints them (`URI:spiffe://…, DNS:…`). */
export function spiffeIdOfSan(subjectAltName: string | undefined): string | null {
  if (!subjectAltName) return null;
  for (const part of subjectAltName.split(", ")) {
    if (part.startsWith("URI:spiffe://")) return part.slice(4);
  }
  return null;
}

/** Certificate serials compare as lowercase hex without leading zeros (Node prints them uppercase, padded). */
export function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+(?=.)/, "");
}
