// The workload's certificate, key and mesh CA, as secure contexts. Replaced in place when a config brings new
// material (rotation): new connections use the new context, established ones finish on the old.
import { constants, createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext, type SecureContext } from "node:tls";
import type { TlsMaterial } from "@trellis/contracts/proxy";

export interface TlsState {
  cert: string;
  key: string;
  ca: string;
  /** For the inbound listener (server side). */
  serverContext: SecureContext;
  /** Same PEMs, fingerprinted: pools are rebuilt only when this changes. */
  fingerprint: string;
}

function pem(inline: string | undefined, file: string | undefined, what: string): string {
  if (inline !== undefined) return inline;
  try {
    return readFileSync(file!, "utf8");
  } catch (err) {
    throw new Error(`cannot read tls ${what} file ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Reads and checks the material. Throws with a readable reason (the config is then rejected). */
export function loadTls(conf: TlsMaterial): TlsState {
  const cert = pem(conf.certPem, conf.certFile, "cert");
  const key = pem(conf.keyPem, conf.keyFile, "key");
  const ca = pem(conf.caPem, conf.caFile, "ca");
  let serverContext: SecureContext;
  try {
    // No session tickets: see upstream/pools.ts; a resumed handshake on a hand-wrapped socket fails.
    serverContext = createSecureContext({
      cert,
      key,
      ca,
      minVersion: "TLSv1.2",
      secureOptions: constants.SSL_OP_NO_TICKET,
    });
  } catch (err) {
    throw new Error(`invalid tls material: ${(err as Error).message}`, { cause: err });
  }
  return {
    cert,
    key,
    ca,
    serverContext,
    fingerprint: createHash("sha256")
      .update(cert)
      .update("\0")
      .update(key)
      .update("\0")
      .update(ca)
      .digest("hex"),
  };
}
