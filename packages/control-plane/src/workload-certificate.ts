// Workload certificates signed with node:crypto: the PKCS#10 request read and verified, the TBSCertificate
// written as DER, signed with the CA key. Every join and renewal runs this; @peculiar/x509's ASN.1 object
// model cost ~8-11 ms of CPU per certificate under load, this a fraction of a millisecond (decision 019,
// bench/sign.mjs). The certificate carries exactly what the @peculiar/x509 path put in it (ca.test.ts compares
// both, extension by extension): no subject, the SPIFFE ID as the only (critical) URI SAN, CA:FALSE, key
// usage digitalSignature + keyAgreement, extended key usage serverAuth + clientAuth, the CA's key id.
import { createHash, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import {
  bitString,
  children,
  DerError,
  oid,
  readOnly,
  seq,
  TAG,
  time,
  tlv,
  unsignedInteger,
  type Tlv,
} from "./der.js";

export class CsrError extends Error {
  override name = "CsrError";
}

// The request's signature algorithms @peculiar/x509 verified for an ECDSA key, by their encoded OID.
const ECDSA_WITH = new Map([
  [oid("1.2.840.10045.4.3.2").toString("hex"), "sha256"],
  [oid("1.2.840.10045.4.3.3").toString("hex"), "sha384"],
  [oid("1.2.840.10045.4.3.4").toString("hex"), "sha512"],
]);

// Constant parts, encoded once.
const VERSION_3 = tlv(0xa0, tlv(TAG.integer, Buffer.from([2])));
const ECDSA_SHA256 = seq(oid("1.2.840.10045.4.3.2"));
const EMPTY_NAME = seq();
const TRUE = tlv(TAG.boolean, Buffer.from([0xff]));
const extension = (id: string, critical: boolean, value: Buffer): Buffer =>
  seq(oid(id), ...(critical ? [TRUE] : []), tlv(TAG.octetString, value));
const BASIC_CONSTRAINTS = extension("2.5.29.19", true, seq());
// digitalSignature (bit 0) and keyAgreement (bit 4): 0b10001000, its 3 unused trailing bits declared.
const KEY_USAGE = extension("2.5.29.15", true, tlv(TAG.bitString, Buffer.from([3, 0x88])));
const EXTENDED_KEY_USAGE = extension(
  "2.5.29.37",
  false,
  seq(oid("1.3.6.1.5.5.7.3.1"), oid("1.3.6.1.5.5.7.3.2")),
);
const SAN_ID = "2.5.29.17";
// SubjectPublicKeyInfo of a P-256 key up to its point: SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 },
// BIT STRING (66 bytes: no unused bits, 0x04 for uncompressed) }.
const P256_SPKI_PREFIX = Buffer.from("3059301306072a8648ce3d020106082a8648ce3d03010703420004", "hex");
const AKI_ID = "2.5.29.35";

/** What the CA contributes to every certificate it signs, read once from its own certificate. */
export interface IssuerTemplate {
  /** The CA certificate's subject, as encoded there (the issuer of what it signs, byte for byte). */
  issuer: Buffer;
  /** The authority key identifier extension: SHA-1 of the CA's public key bits (RFC 5280 4.2.1.2 (1)). */
  authorityKeyId: Buffer;
  key: KeyObject;
}

export function issuerTemplate(caCertDer: Buffer, key: KeyObject): IssuerTemplate {
  const [tbs] = children(readOnly(caCertDer, TAG.sequence).body);
  const fields = children(tbs!.body);
  // version [0], serial, signature algorithm, issuer, validity, subject, subjectPublicKeyInfo, …
  const subject = fields[5]!;
  const spki = children(fields[6]!.body);
  const publicKeyBits = spki[1]!.body.subarray(1); // past the unused-bits byte
  const keyId = createHash("sha1").update(publicKeyBits).digest();
  return {
    issuer: subject.raw,
    authorityKeyId: extension(AKI_ID, false, seq(tlv(0x80, keyId))),
    key,
  };
}

/**
 * Reads a PEM PKCS#10 request, verifies its signature with the key it carries, and returns that key's
 * SubjectPublicKeyInfo (DER). Only ECDSA P-256 keys are accepted. Throws `CsrError` otherwise.
 */
export function verifiedCsrKey(csrPem: string): Buffer {
  const m =
    /^\s*-----BEGIN CERTIFICATE REQUEST-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE REQUEST-----\s*$/.exec(
      csrPem,
    );
  if (!m) throw new CsrError("the certificate request is not a PEM PKCS#10 request");
  let info: Tlv, signature: Tlv, spkiDer: Buffer, hash: string | undefined;
  try {
    const der = Buffer.from(m[1]!.replace(/\s+/g, ""), "base64");
    const request = children(readOnly(der, TAG.sequence).body);
    if (request.length !== 3) throw new DerError("not a CertificationRequest");
    const algorithm = request[1]!;
    [info, , signature] = request as [Tlv, Tlv, Tlv];
    if (info.tag !== TAG.sequence || algorithm.tag !== TAG.sequence || signature.tag !== TAG.bitString)
      throw new DerError("not a CertificationRequest");
    // version, subject, subjectPKInfo, [0] attributes
    const fields = children(info.body);
    if (fields.length !== 4 || fields[2]!.tag !== TAG.sequence)
      throw new DerError("not a CertificationRequestInfo");
    spkiDer = fields[2]!.raw;
    // ECDSA algorithm identifiers carry no parameters.
    const algorithmFields = children(algorithm.body);
    if (algorithmFields.length === 1) hash = ECDSA_WITH.get(algorithmFields[0]!.raw.toString("hex"));
  } catch (e) {
    if (e instanceof DerError)
      throw new CsrError("the certificate request is not a PEM PKCS#10 request", { cause: e });
    throw e;
  }
  // The key goes into the certificate as the request encodes it (as with @peculiar/x509), once OpenSSL has read
  // it as a P-256 point on the curve. Most requests carry the one encoding the proxy makes (id-ecPublicKey,
  // prime256v1, the uncompressed point): that point alone is imported, as a JWK, ~50 µs cheaper than
  // OpenSSL's DER decoders. Any other encoding (a compressed point, say) goes through those.
  const canonical = spkiDer.length === 91 && spkiDer.subarray(0, 27).equals(P256_SPKI_PREFIX);
  let key: KeyObject;
  try {
    key = canonical
      ? createPublicKey({
          key: {
            kty: "EC",
            crv: "P-256",
            x: spkiDer.subarray(27, 59).toString("base64url"),
            y: spkiDer.subarray(59, 91).toString("base64url"),
          },
          format: "jwk",
        })
      : createPublicKey({ key: spkiDer, format: "der", type: "spki" });
  } catch (e) {
    // Not a key, or a point that is not on its curve.
    throw new CsrError("the certificate request is not a PEM PKCS#10 request", { cause: e });
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1")
    throw new CsrError("workload keys must be ECDSA P-256");
  if (
    !hash ||
    signature.body[0] !== 0 ||
    !verify(hash, info.raw, { key, dsaEncoding: "der" }, signature.body.subarray(1))
  )
    throw new CsrError("the certificate request's signature does not verify");
  return Buffer.from(spkiDer);
}

export interface WorkloadFields {
  /** 16 random bytes, hex: the serial the database records. */
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  /** The workload key's SubjectPublicKeyInfo (from `verifiedCsrKey`). */
  spki: Buffer;
  spiffeId: string;
}

/** Signs a workload certificate; returns its DER. */
export function signWorkloadCertificate(ca: IssuerTemplate, f: WorkloadFields): Buffer {
  // An IA5String: the SPIFFE ID is built from validated names, so this only guards against a future change.
  if (!/^[\x21-\x7e]+$/.test(f.spiffeId)) throw new Error(`not a URI of printable ASCII: ${f.spiffeId}`);
  const san = extension(SAN_ID, true, seq(tlv(0x86, Buffer.from(f.spiffeId, "latin1"))));
  const tbs = seq(
    VERSION_3,
    unsignedInteger(Buffer.from(f.serialHex, "hex")),
    ECDSA_SHA256,
    ca.issuer,
    seq(time(f.notBefore), time(f.notAfter)),
    EMPTY_NAME,
    f.spki,
    tlv(0xa3, seq(BASIC_CONSTRAINTS, KEY_USAGE, EXTENDED_KEY_USAGE, san, ca.authorityKeyId)),
  );
  const signature = sign("sha256", tbs, { key: ca.key, dsaEncoding: "der" });
  return seq(tbs, ECDSA_SHA256, bitString(signature));
}

export function certificatePem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der
    .toString("base64")
    .match(/.{1,64}/g)!
    .join("\n")}\n-----END CERTIFICATE-----`;
}
