// The mesh CA's workload certificates, signed with node:crypto (workload-certificate.ts), against the
// @peculiar/x509 path they replaced and against other peers: OpenSSL verifies them, Node's TLS completes a
// mutual handshake with them, and OpenSSL's own requests are accepted or refused as the old path did.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicKey, X509Certificate } from "node:crypto";
import tls from "node:tls";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb } from "@trellis/db";
import { generateKeyAndCsr } from "@trellis/dataplane/mesh";
import { MeshCa, spiffeId } from "./index.js";
import { decryptCaKey, x509WorkloadSigner } from "./testing.js";
import { children, readOnly, TAG } from "./der.js";
import { TEST_MESH_SECRET } from "../test/support.js";

const db = createDb(inject("databaseUrl"));
let ca: MeshCa;
let dir: string;

const openssl = (...args: string[]) => execFileSync("openssl", args, { encoding: "utf8", stdio: "pipe" });
const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
/** The TBSCertificate's fields: version, serial, signature algorithm, issuer, validity, subject, key, extensions. */
const tbsFields = (pem: string) => children(children(readOnly(der(pem), TAG.sequence).body)[0]!.body);

beforeAll(async () => {
  ca = await MeshCa.loadOrCreate(db, { secret: TEST_MESH_SECRET, trustDomain: "trellis.local" });
  dir = mkdtempSync(join(tmpdir(), "trellis-ca-test-"));
  writeFileSync(join(dir, "ca.pem"), ca.certPem);
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db.$disconnect();
});

describe("workload certificates signed with node:crypto", () => {
  it("carry every field and extension the @peculiar/x509 path put in them, byte for byte", async () => {
    const row = await db.certificateAuthority.findFirstOrThrow({ where: { fingerprint: ca.fingerprint } });
    const old = await x509WorkloadSigner(
      ca.certPem,
      decryptCaKey(Buffer.from(row.encryptedKey), TEST_MESH_SECRET),
    );
    const { csrPem } = await generateKeyAndCsr();
    const id = spiffeId(ca.trustDomain, "shop", "reviews");
    const signed = await ca.signWorkload(csrPem, id, 3_600_000);
    const reference = await old(csrPem, id, 3_600_000, signed.serial);

    const [now, then] = [tbsFields(signed.certPem), tbsFields(reference)];
    expect(now).toHaveLength(8);
    expect(then).toHaveLength(8);
    for (const i of [0, 1, 2, 3, 5, 6, 7])
      expect(now[i]!.raw.toString("hex")).toBe(then[i]!.raw.toString("hex"));
    // The validity differs only by the moments the two were signed.
    const [a, b] = [new X509Certificate(signed.certPem), new X509Certificate(reference)];
    expect(Math.abs(Date.parse(a.validFrom) - Date.parse(b.validFrom))).toBeLessThanOrEqual(2000);
    expect(Math.abs(Date.parse(a.validTo) - Date.parse(b.validTo))).toBeLessThanOrEqual(2000);
    expect(a.subjectAltName).toBe(`URI:${id}`);
    expect(a.ca).toBe(false);
    expect(a.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    expect(a.issuer).toBe(new X509Certificate(ca.certPem).subject);
    expect(a.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(a.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    // The database records the serial the certificate carries.
    expect(a.serialNumber.toLowerCase().padStart(32, "0")).toBe(signed.serial);
    expect(Math.floor(signed.notAfter.getTime() / 1000) * 1000).toBe(Date.parse(a.validTo));
  });

  it("verify with OpenSSL against the CA, for TLS clients and servers, under strict X.509 checks", async () => {
    const { csrPem } = await generateKeyAndCsr();
    const signed = await ca.signWorkload(csrPem, spiffeId(ca.trustDomain, "shop", "web"), 3_600_000);
    writeFileSync(join(dir, "w.pem"), signed.certPem);
    for (const purpose of ["sslclient", "sslserver"])
      expect(
        openssl(
          "verify",
          "-x509_strict",
          "-purpose",
          purpose,
          "-CAfile",
          join(dir, "ca.pem"),
          join(dir, "w.pem"),
        ),
      ).toContain("w.pem: OK");
    const text = openssl("x509", "-in", join(dir, "w.pem"), "-noout", "-text");
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Key Agreement/);
    expect(text).toMatch(
      /X509v3 Subject Alternative Name: critical\s+URI:spiffe:\/\/trellis.local\/ns\/shop\/sa\/web/,
    );
  });

  it("complete a mutual TLS handshake in Node, each side seeing the other's SPIFFE ID", async () => {
    const issue = async (service: string) => {
      const { csrPem, keyPem } = await generateKeyAndCsr();
      const signed = await ca.signWorkload(csrPem, spiffeId(ca.trustDomain, "shop", service), 3_600_000);
      return { cert: signed.certPem, key: keyPem, ca: ca.certPem };
    };
    const [server, client] = [await issue("reviews"), await issue("web")];
    const seen: (string | undefined)[] = [];
    const srv = tls.createServer({ ...server, requestCert: true, rejectUnauthorized: true }, (s) => {
      seen.push(s.getPeerCertificate().subjectaltname);
      s.end("ok");
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const s = tls.connect(
          {
            ...client,
            port: (srv.address() as AddressInfo).port,
            host: "127.0.0.1",
            // Mesh peers are named by SPIFFE ID, not host name (as the sidecar checks).
            checkServerIdentity: (_h, cert) =>
              cert.subjectaltname === `URI:${spiffeId(ca.trustDomain, "shop", "reviews")}`
                ? undefined
                : new Error(`unexpected peer ${cert.subjectaltname}`),
          },
          () => expect(s.authorized).toBe(true),
        );
        let data = "";
        s.setEncoding("utf8");
        s.on("data", (d: string) => (data += d));
        s.on("end", () => resolve(data));
        s.on("error", reject);
      });
      expect(reply).toBe("ok");
      expect(seen).toEqual([`URI:${spiffeId(ca.trustDomain, "shop", "web")}`]);
    } finally {
      srv.close();
    }
  });
});

describe("certificate requests", () => {
  const opensslCsr = (keyArgs: string[], digest: string[] = ["-sha256"]) => {
    const key = join(dir, "k.pem");
    openssl("genpkey", ...keyArgs, "-out", key);
    return openssl("req", "-new", "-key", key, ...digest, "-subj", "/CN=whoever");
  };
  const refusal = (csr: string) =>
    ca.signWorkload(csr, spiffeId(ca.trustDomain, "shop", "web"), 3_600_000).then(
      () => null,
      (e: { code?: string; message: string }) => `${e.code}: ${e.message}`,
    );

  it("accepts OpenSSL's P-256 requests, whatever they name: the identity is the CA's", async () => {
    const csr = opensslCsr(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    const signed = await ca.signWorkload(csr, spiffeId(ca.trustDomain, "shop", "web"), 3_600_000);
    const cert = new X509Certificate(signed.certPem);
    // No subject at all (Node reports none): nothing of "/CN=whoever" is carried over.
    expect(cert.subject).toBeUndefined();
    expect(cert.subjectAltName).toBe(`URI:${spiffeId(ca.trustDomain, "shop", "web")}`);
  });

  it("accepts a compressed P-256 point and certifies that key as the request encodes it", async () => {
    const key = join(dir, "compressed.pem");
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", join(dir, "ec.pem"));
    openssl("ec", "-in", join(dir, "ec.pem"), "-conv_form", "compressed", "-out", key);
    const csr = openssl("req", "-new", "-key", key, "-subj", "/CN=whoever");
    const requested = children(children(readOnly(der(csr), TAG.sequence).body)[0]!.body)[2]!;
    expect(requested.raw.length).toBe(59); // 33-byte point: compressed
    const signed = await ca.signWorkload(csr, spiffeId(ca.trustDomain, "shop", "web"), 3_600_000);
    const certified = tbsFields(signed.certPem)[6]!.raw;
    expect(certified.toString("hex")).toBe(requested.raw.toString("hex"));
    expect(new X509Certificate(signed.certPem).publicKey.equals(createPublicKey(readFileSync(key)))).toBe(
      true,
    );
  });

  it("refuses requests that are not PKCS#10, that do not verify, or whose key is not P-256", async () => {
    expect(await refusal("hello")).toBe(
      "CA_CSR_INVALID: the certificate request is not a PEM PKCS#10 request",
    );
    const good = opensslCsr(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    // Bytes after the request.
    const body = der(good);
    const trailing = `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.concat([body, Buffer.from([0])]).toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    expect(await refusal(trailing)).toBe(
      "CA_CSR_INVALID: the certificate request is not a PEM PKCS#10 request",
    );
    // A signature that does not match: the last byte of the ECDSA signature's s changed.
    const tampered = Buffer.from(body);
    tampered.writeUInt8(tampered.at(-1)! ^ 0x01, tampered.length - 1);
    expect(
      await refusal(
        `-----BEGIN CERTIFICATE REQUEST-----\n${tampered.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`,
      ),
    ).toBe("CA_CSR_INVALID: the certificate request's signature does not verify");
    expect(
      await refusal(opensslCsr(["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"], ["-sha384"])),
    ).toBe("CA_CSR_INVALID: workload keys must be ECDSA P-256");
    expect(await refusal(opensslCsr(["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]))).toBe(
      "CA_CSR_INVALID: workload keys must be ECDSA P-256",
    );
    expect(await refusal(opensslCsr(["-algorithm", "ED25519"], []))).toBe(
      "CA_CSR_INVALID: workload keys must be ECDSA P-256",
    );
  });
});
