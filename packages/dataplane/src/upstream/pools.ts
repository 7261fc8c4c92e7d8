// Connection pools to upstreams, one per endpoint (and TLS identity). Sidecar-to-sidecar pools speak mTLS with
// the workload certificate and check that the peer is the service we meant to reach (its SPIFFE ID), not
// merely someone the CA signed. Keep-alive pooling matters: a full mTLS handshake costs ~1.5 ms of CPU.
import { checkServerIdentity as defaultCheck, type PeerCertificate } from "node:tls";
import { createRequire } from "node:module";
import type { Pool as PoolType } from "undici";

// Only undici's Pool, not its index: the index loads fetch, WebSocket, caches and more, ~10 MB of RSS a
// sidecar does not use. The version is pinned in package.json, so this path is stable.
const require = createRequire(import.meta.url);
const Pool = require("undici/lib/dispatcher/pool.js") as typeof PoolType;
type Pool = PoolType;
import type { TlsState } from "../tls/material.js";
import { certSpiffeId, isRevoked, type RevokedSerials } from "../tls/identity.js";

/** Who an mTLS upstream must be. */
export interface PeerCheckOptions {
  /** SPIFFE ID the peer must present (mTLS only). */
  expectedPeer: string | null;
  /** Peer certificates to refuse though the CA signed them (mTLS only). */
  revoked?: RevokedSerials;
}

export interface PoolOptions extends PeerCheckOptions {
  /** mTLS material, or null for plain TCP (the local app, or a destination without a sidecar). */
  tls: TlsState | null;
  /** Connection cap for this endpoint; null: unlimited. */
  connections: number | null;
  idleTimeoutMs: number;
}

/**
 * The TLS client's server check for sidecar peers: addressed by IP, so the name that matters is the SPIFFE ID
 * in the URI SAN, and a certificate the CA signed may still be revoked. Shared by the HTTP/1.1 pools and the
 * HTTP/2 sessions (h2.ts).
 */
export function peerCheck(
  opts: PeerCheckOptions,
): (host: string, cert: PeerCertificate) => Error | undefined {
  const expected = opts.expectedPeer;
  const revoked = opts.revoked ?? new Set<string>();
  return (host: string, cert: PeerCertificate) => {
    const id = certSpiffeId(cert);
    if (isRevoked(cert, revoked)) {
      const err = new Error(
        `peer at ${host} presents revoked certificate ${cert.serialNumber} (${id ?? "no SPIFFE ID"})`,
      ) as Error & { code: string };
      err.code = "ERR_TRELLIS_PEER_REVOKED";
      return err;
    }
    if (expected !== null) {
      if (id === expected) return undefined;
      const err = new Error(
        `peer at ${host} is ${id ?? "not a SPIFFE identity"}, expected ${expected}`,
      ) as Error & {
        code: string;
      };
      err.code = "ERR_TRELLIS_PEER_IDENTITY";
      return err;
    }
    return id !== null ? undefined : defaultCheck(host, cert);
  };
}

/** The HTTP/1.1 pool for one endpoint (HTTP/2 goes through h2.ts). */
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
      checkServerIdentity: peerCheck(opts),
    },
  });
}
