// Peer identity checks: the SPIFFE ID in a certificate's URI SAN, and revoked serials. The ID format itself
// (build and parse) lives in @trellis/contracts, shared with the control plane.
import type { PeerCertificate } from "node:tls";
import { normalizeSerial, spiffeIdOfSan } from "@trellis/contracts/proxy";

export { normalizeSerial };

/** Revoked certificate serials, normalized (`normalizeSerial`): peers presenting one are refused. */
export type RevokedSerials = ReadonlySet<string>;

/** Whether a peer's certificate is on the revocation list of the config in force. */
export function isRevoked(cert: PeerCertificate | null | undefined, revoked: RevokedSerials): boolean {
  if (revoked.size === 0 || !cert?.serialNumber) return false;
  return revoked.has(normalizeSerial(cert.serialNumber));
}

/** The SPIFFE ID in a certificate's URI SANs, or null. */
export function certSpiffeId(cert: PeerCertificate | null | undefined): string | null {
  return spiffeIdOfSan(cert?.subjectaltname);
}
