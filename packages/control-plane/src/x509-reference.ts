// The workload certificate as the mesh CA signed it with @peculiar/x509 until decision 019: kept as the
// reference that ca.test.ts compares the node:crypto signer with, field by field, and that bench/sign.mjs
// times it against. Not used by the control plane itself.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** A signer with the CA's certificate and key (PKCS#8 DER, see `decryptCaKey`). */
export async function x509WorkloadSigner(
  caCertPem: string,
  caKeyPkcs8: Buffer,
): Promise<(csrPem: string, spiffe: string, ttlMs: number, serialHex: string) => Promise<string>> {
  const caCert = new x509.X509Certificate(caCertPem);
  const key = await webcrypto.subtle.importKey("pkcs8", caKeyPkcs8, ALG, false, ["sign"]);
  return async (csrPem, spiffe, ttlMs, serialHex) => {
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    if (!(await csr.verify())) throw new Error("the certificate request's signature does not verify");
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serialHex,
      subject: "",
      issuer: caCert.subject,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(Math.min(now + ttlMs, caCert.notAfter.getTime())),
      publicKey: csr.publicKey,
      signingKey: key,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        new x509.SubjectAlternativeNameExtension([{ type: "url", value: spiffe }], true),
        await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
      ],
    });
    return cert.toString("pem");
  };
}
