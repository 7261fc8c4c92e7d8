// The mesh certificate authority. One active CA per mesh: an ECDSA P-256 root whose private key is stored
// encrypted (AES-256-GCM, key derived from TRELLIS_SECRET) and is never logged or returned by any API.
// It signs short-lived workload certificates whose URI SAN is the workload's SPIFFE ID, and the control
// plane's own serving certificate, which proxies verify after pinning the CA's fingerprint from their join token.
// @peculiar/x509 resolves its internals through tsyringe, which needs the Reflect metadata API loaded first.
import "reflect-metadata";
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  hkdfSync,
  randomBytes,
  webcrypto,
  X509Certificate as NodeX509,
} from "node:crypto";
import * as x509 from "@peculiar/x509";
import type { Db } from "@trellis/db";
import {
  certificatePem,
  CsrError,
  issuerTemplate,
  signWorkloadCertificate,
  verifiedCsrKey,
  type IssuerTemplate,
} from "./workload-certificate.js";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const CA_LIFETIME_DAYS = 3650;
const KEY_INFO = "trellis/ca-key/v1";

export class CaError extends Error {
  constructor(
    readonly code: "CA_CSR_INVALID" | "CA_KEY_UNREADABLE",
    message: string,
  ) {
    super(message);
    this.name = "CaError";
  }
}

function keyFromSecret(secret: string): Buffer {
  return Buffer.from(hkdfSync("sha256", secret, "trellis-ca", KEY_INFO, 32));
}

/** iv (12) | tag (16) | ciphertext */
function encrypt(plain: Buffer, secret: string): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", keyFromSecret(secret), iv);
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]);
}

/** The CA's private key (PKCS#8 DER) from its stored form. Exported for the tests and benchmarks (testing.ts). */
export function decryptCaKey(blob: Buffer, secret: string): Buffer {
  try {
    const d = createDecipheriv("aes-256-gcm", keyFromSecret(secret), blob.subarray(0, 12));
    d.setAuthTag(blob.subarray(12, 28));
    return Buffer.concat([d.update(blob.subarray(28)), d.final()]);
  } catch {
    throw new CaError(
      "CA_KEY_UNREADABLE",
      "the mesh CA key cannot be decrypted: TRELLIS_SECRET differs from the one it was created with",
    );
  }
}

/** SHA-256 of a certificate's DER, base64url: what join tokens carry. */
export function caFingerprint(certPem: string): string {
  return createHash("sha256").update(new NodeX509(certPem).raw).digest("base64url");
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive
  return b.toString("hex");
}

// The SPIFFE ID format is defined once in contracts (the proxy parses what this CA signs); re-exported here
// because the certificate signing paths import it with the CA.
export { spiffeId } from "@trellis/contracts";

export interface SignedCertificate {
  certPem: string;
  serial: string;
  notAfter: Date;
}

export class MeshCa {
  private constructor(
    readonly trustDomain: string,
    readonly cert: x509.X509Certificate,
    readonly certPem: string,
    readonly fingerprint: string,
    private readonly key: CryptoKey,
    private readonly workloadIssuer: IssuerTemplate,
  ) {}

  /** Loads the active CA, creating it on first use. Safe to call from several replicas at once. */
  static async loadOrCreate(db: Db, opts: { secret: string; trustDomain: string }): Promise<MeshCa> {
    let row = await db.certificateAuthority.findFirst({
      where: { active: true },
      orderBy: { createdAt: "asc" },
    });
    if (!row) {
      const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
      const now = new Date();
      const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serial(),
        name: `CN=Trellis mesh CA, O=${opts.trustDomain}`,
        notBefore: new Date(now.getTime() - 60_000),
        notAfter: new Date(now.getTime() + CA_LIFETIME_DAYS * 86_400_000),
        keys,
        signingAlgorithm: ALG,
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
      });
      const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
      const certPem = cert.toString("pem");
      try {
        await db.certificateAuthority.create({
          data: {
            trustDomain: opts.trustDomain,
            certPem,
            encryptedKey: new Uint8Array(encrypt(pkcs8, opts.secret)),
            fingerprint: caFingerprint(certPem),
            notBefore: cert.notBefore,
            notAfter: cert.notAfter,
          },
        });
      } catch {
        // Another replica created one first; use the oldest active CA like everyone else.
      }
      row = await db.certificateAuthority.findFirstOrThrow({
        where: { active: true },
        orderBy: { createdAt: "asc" },
      });
    }
    const pkcs8 = decryptCaKey(Buffer.from(row.encryptedKey), opts.secret);
    const key = await webcrypto.subtle.importKey("pkcs8", pkcs8, ALG, false, ["sign"]);
    const cert = new x509.X509Certificate(row.certPem);
    return new MeshCa(
      row.trustDomain,
      cert,
      row.certPem,
      row.fingerprint,
      key,
      issuerTemplate(
        Buffer.from(cert.rawData),
        createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }),
      ),
    );
  }

  /**
   * Signs a workload certificate for `spiffe` from a PKCS#10 request. Only the request's public key is used:
   * the identity comes from the join token and registration, never from what the request asks for.
   */
  async signWorkload(csrPem: string, spiffe: string, ttlMs: number): Promise<SignedCertificate> {
    let spki: Buffer;
    try {
      spki = verifiedCsrKey(csrPem);
    } catch (e) {
      if (e instanceof CsrError) throw new CaError("CA_CSR_INVALID", e.message);
      throw e;
    }
    const now = Date.now();
    const notAfter = new Date(Math.min(now + ttlMs, this.cert.notAfter.getTime()));
    const sn = serial();
    const der = signWorkloadCertificate(this.workloadIssuer, {
      serialHex: sn,
      notBefore: new Date(now - 60_000),
      notAfter,
      spki,
      spiffeId: spiffe,
    });
    return { certPem: certificatePem(der), serial: sn, notAfter };
  }

  /** A serving certificate (and its key) for the control plane itself, for the given DNS names and IPs. */
  async issueServing(
    hosts: string[],
    ttlMs: number,
  ): Promise<{ certPem: string; keyPem: string; notAfter: Date }> {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
    const now = Date.now();
    const notAfter = new Date(now + ttlMs);
    const names = hosts.map((h) =>
      /^[\d.]+$|:/.test(h) ? { type: "ip" as const, value: h } : { type: "dns" as const, value: h },
    );
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: "CN=trellis-control-plane",
      issuer: this.cert.subject,
      notBefore: new Date(now - 60_000),
      notAfter,
      publicKey: keys.publicKey,
      signingKey: this.key,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names),
        await x509.AuthorityKeyIdentifierExtension.create(this.cert.publicKey),
      ],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)).toString("base64");
    const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join("\n")}\n-----END PRIVATE KEY-----\n`;
    return { certPem: cert.toString("pem"), keyPem, notAfter };
  }
}
