// The proxy's side of mesh identity: trusting the control plane through the join token, and making the key
// and certificate request that the mesh CA signs. The private key never leaves this process.
// @peculiar/x509 resolves its internals through tsyringe, which needs the Reflect metadata API loaded first.
import "reflect-metadata";
import { createHash, webcrypto } from "node:crypto";
import { request } from "node:https";
import * as x509 from "@peculiar/x509";
import { MESH_CA_PATH, parseJoinToken } from "@trellis/contracts/proxy";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export class MeshJoinError extends Error {
  constructor(
    readonly code:
      | "DP_JOIN_TOKEN_INVALID"
      | "DP_JOIN_TOKEN_REVOKED"
      | "DP_HELLO_REFUSED"
      | "DP_CA_MISMATCH"
      | "DP_CA_UNREACHABLE",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "MeshJoinError";
  }
}

/**
 * Fetches the control plane's CA over a connection it does not trust yet, and trusts the CA only if its
 * SHA-256 equals the fingerprint in the join token (kubeadm's discovery-token-ca-cert-hash, inside the token).
 * `timeoutMs` (default 10 s): how long the replica may stay silent before this fails (DP_CA_UNREACHABLE).
 */
export async function fetchPinnedCa(
  controlPlaneUrl: string,
  token: string,
  { timeoutMs = 10_000 }: { timeoutMs?: number } = {},
): Promise<string> {
  const parsed = parseJoinToken(token);
  if (!parsed)
    throw new MeshJoinError(
      "DP_JOIN_TOKEN_INVALID",
      "the join token is malformed (expected tj1.<fingerprint>.<secret>)",
    );
  const pem = await new Promise<string>((resolve, reject) => {
    const req = request(
      new URL(MESH_CA_PATH, controlPlaneUrl),
      { rejectUnauthorized: false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > 65_536) req.destroy(new Error("the CA response is too large"));
          else chunks.push(c);
        });
        res.on("end", () =>
          res.statusCode === 200
            ? resolve(Buffer.concat(chunks).toString("utf8"))
            : reject(new Error(`GET ${MESH_CA_PATH} answered HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  }).catch((e: unknown) => {
    throw new MeshJoinError(
      "DP_CA_UNREACHABLE",
      `cannot fetch the mesh CA from ${controlPlaneUrl}: ${(e as Error).message}`,
      { cause: e },
    );
  });
  let der: ArrayBuffer;
  try {
    der = new x509.X509Certificate(pem).rawData;
  } catch {
    throw new MeshJoinError("DP_CA_MISMATCH", "the control plane did not serve a certificate at /v1/ca");
  }
  const fp = createHash("sha256").update(new Uint8Array(der)).digest("base64url");
  if (fp !== parsed.caFingerprint) {
    throw new MeshJoinError(
      "DP_CA_MISMATCH",
      "the control plane's CA does not match the join token: refusing to trust it",
    );
  }
  return pem;
}

function pkcs8Pem(der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64");
  return `-----BEGIN PRIVATE KEY-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END PRIVATE KEY-----\n`;
}

/** A fresh ECDSA P-256 key and a PKCS#10 request for it. The CA decides the identity; the request names none. */
export async function generateKeyAndCsr(): Promise<{ keyPem: string; csrPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: "CN=trellis-proxy",
    keys: keys as unknown as Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]["keys"],
    signingAlgorithm: ALG,
  });
  return {
    keyPem: pkcs8Pem(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)),
    csrPem: csr.toString("pem"),
  };
}
