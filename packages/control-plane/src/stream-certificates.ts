// The certificates of one proxy stream: signed by the mesh CA at hello and at each renewal, recorded before the
// proxy has them (revoking the join token revokes every certificate issued under it), renewals paced by
// renewal-limit.ts. Revocation of what a stream holds is here too: the services layer revokes what the
// workload rows name; a renewal or a join racing with it may have issued another.
import type { IssuedCertificate } from "@trellis/contracts";
import type { Db } from "@trellis/db";
import type { MeshCa, SignedCertificate } from "./ca.js";
import { RenewalLimit } from "./renewal-limit.js";

/** What is recorded of a certificate issued on a stream. */
export interface StreamCertificate {
  serial: string;
  notAfter: Date;
  spiffeId: string;
}

/** A stream's last certificate and whom it was issued to (see `revokeCertificates`). */
export interface CertificateHolder {
  readonly certificate: StreamCertificate | null;
  readonly workloadId: string | null;
  readonly joinTokenId: string;
}

export interface StreamCertificatesDeps {
  db: Db;
  ca: MeshCa;
  certTtlMs: number;
  joinTokenId: string;
}

export class StreamCertificates {
  /** The last certificate issued on this stream (at hello or renewal): revoked with its proxy. */
  last: StreamCertificate | null = null;
  /** Renewals this stream may still make (see renewal-limit.ts); created at the first renewal. */
  private renewals: RenewalLimit | null = null;

  constructor(private readonly deps: StreamCertificatesDeps) {}

  /** Signs a proxy's CSR for `spiffeId`. Throws `CaError` when the request is not acceptable. */
  sign(csr: string, spiffeId: string): Promise<SignedCertificate> {
    return this.deps.ca.signWorkload(csr, spiffeId, this.deps.certTtlMs);
  }

  /**
   * Records a signed certificate as issued to `workloadId`, before the proxy has it. A renewal also moves the
   * workload row to it (at hello, registering the workload wrote it there).
   */
  async record(
    signed: SignedCertificate,
    spiffeId: string,
    workloadId: string,
    { renewal = false }: { renewal?: boolean } = {},
  ): Promise<void> {
    const issued = { serial: signed.serial, notAfter: signed.notAfter, spiffeId };
    this.last = issued;
    const { db, joinTokenId } = this.deps;
    // Raw SQL: every join runs it (see registerWorkload).
    await db.$executeRaw`
      INSERT INTO "IssuedCertificate" (serial, "expiresAt", "spiffeId", "workloadId", "joinTokenId", "issuedAt")
      VALUES (${issued.serial}, (${issued.notAfter.toISOString()}::timestamptz AT TIME ZONE 'UTC'), ${spiffeId},
        ${workloadId}, ${joinTokenId}, now() AT TIME ZONE 'UTC')`;
    if (renewal)
      await db.workload.update({
        where: { id: workloadId },
        data: { certificateSerial: signed.serial, certificateExpires: signed.notAfter },
      });
  }

  /** Takes a renewal: 0 when allowed now, else the milliseconds until the next one is. */
  takeRenewal(): number {
    this.renewals ??= new RenewalLimit(this.deps.certTtlMs);
    return this.renewals.take();
  }

  /** The certificate as the proxy receives it (welcome and certificate messages). */
  wire(signed: SignedCertificate, spiffeId: string): IssuedCertificate {
    return {
      certPem: signed.certPem,
      caPem: this.deps.ca.certPem,
      spiffeId,
      notAfter: signed.notAfter.toISOString(),
      serial: signed.serial,
    };
  }
}

/**
 * Adds the certificates last issued on these streams to the revocation list (the revocation itself listed the
 * ones recorded on their workloads; a renewal or a join racing with it may have issued another).
 */
export async function revokeCertificates(db: Db, holders: readonly CertificateHolder[]): Promise<void> {
  const data = holders.flatMap((h) =>
    h.certificate
      ? [
          {
            serial: h.certificate.serial,
            expiresAt: h.certificate.notAfter,
            spiffeId: h.certificate.spiffeId,
            workloadId: h.workloadId,
            joinTokenId: h.joinTokenId,
          },
        ]
      : [],
  );
  if (data.length > 0) await db.revokedCertificate.createMany({ data, skipDuplicates: true });
}
