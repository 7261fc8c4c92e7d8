// SPIFFE identities: `spiffe://<trust-domain>/ns/<namespace>/sa/<service>`, carried as a URI SAN.
import type { PeerCertificate } from "node:tls";

export function spiffeId(trustDomain: string, namespace: string, service: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${service}`;
}

export interface SpiffeParts {
  trustDomain: string;
  namespace: string;
  service: string;
}

const SPIFFE_RE = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/;

export function parseSpiffeId(id: string): SpiffeParts | null {
  const m = SPIFFE_RE.exec(id);
  return m === null ? null : { trustDomain: m[1]!, namespace: m[2]!, service: m[3]! };
}

/** The SPIFFE ID in a certificate's URI SANs, or null. */
export function certSpiffeId(cert: PeerCertificate | null | undefined): string | null {
  const san = cert?.subjectaltname;
  if (!san) return null;
  for (const part of san.split(", ")) {
    if (part.startsWith("URI:spiffe://")) return part.slice(4);
  }
  return null;
}
