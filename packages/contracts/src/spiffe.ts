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

const SPIFFE_RE = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/;

/** The parts of a SPIFFE ID in Trellis's format, or null for anything else (refused, never guessed at). */
export function parseSpiffeId(id: string): SpiffeParts | null {
  const m = SPIFFE_RE.exec(id);
  return m === null ? null : { trustDomain: m[1]!, namespace: m[2]!, service: m[3]! };
}
