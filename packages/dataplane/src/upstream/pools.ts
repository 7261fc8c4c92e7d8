// Connection pools to upstreams, one per endpoint (and TLS identity). Sidecar-to-sidecar pools speak mTLS with
// the workload certificate and check that the peer is the service we meant to reach (its SPIFFE ID), not
// merely someone the CA signed. Keep-alive pooling matters: a full mTLS handshake costs ~1.5 ms of CPU.
import { checkServerIdentity as defaultCheck, type PeerCertificate } from "node:tls";
import { Pool } from "undici";
import type { TlsState } from "../tls/material.js";
import { certSpiffeId } from "../tls/identity.js";

export interface PoolOptions {
  /** mTLS material, or null for plain TCP (the local app, or a destination without a sidecar). */
  tls: TlsState | null;
  /** SPIFFE ID the peer must present (mTLS only). */
  expectedPeer: string | null;
  /** Connection cap for this endpoint; null: unlimited. */
  connections: number | null;
  idleTimeoutMs: number;
}

export function createPool(address: string, opts: PoolOptions): Pool {
  const common = {
    connections: opts.connections,
    pipelining: 1,
    keepAliveTimeout: Math.max(opts.idleTimeoutMs, 1000),
    keepAliveMaxTimeout: Math.max(opts.idleTimeoutMs, 1000),
    headersTimeout: 0,
    bodyTimeout: 0,
    maxHeaderSize: 64 * 1024,
    strictContentLength: false,
  };
  if (opts.tls === null) return new Pool(`http://${address}`, common);
  const expected = opts.expectedPeer;
  return new Pool(`https://${address}`, {
    ...common,
    connect: {
      // No TLS session resumption: connections are pooled and long-lived, and the inbound listener wraps
      // sockets without a tls.Server, so it keeps no session state to resume from.
      maxCachedSessions: 0,
      cert: opts.tls.cert,
      key: opts.tls.key,
      ca: opts.tls.ca,
      rejectUnauthorized: true,
      minVersion: "TLSv1.2",
      // Sidecars are addressed by IP; the name that matters is the SPIFFE ID in the URI SAN.
      checkServerIdentity: (host: string, cert: PeerCertificate) => {
        const id = certSpiffeId(cert);
        if (expected !== null) {
          if (id === expected) return undefined;
          const err = new Error(`peer at ${host} is ${id ?? "not a SPIFFE identity"}, expected ${expected}`) as Error & { code: string };
          err.code = "ERR_TRELLIS_PEER_IDENTITY";
          return err;
        }
        return id !== null ? undefined : defaultCheck(host, cert);
      },
    },
  });
}
