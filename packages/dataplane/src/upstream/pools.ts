// Connection pools to upstreams, one per endpoint (and TLS identity). Sidecar-to-sidecar pools speak mTLS with
// the workload certificate and check that the peer is the service we meant to reach (its SPIFFE ID), not
// merely someone the CA signed. Keep-alive pooling matters: a full mTLS handshake costs ~1.5 ms of CPU.
import { checkServerIdentity as defaultCheck, type PeerCertificate } from "node:tls";
import { createRequire } from "node:module";
import type { Dispatcher, Pool as PoolType } from "undici";

// Only undici's Pool, not its index: the index loads fetch, WebSocket, caches and more, ~10 MB of RSS a
// sidecar does not use. The version is pinned in package.json, so this path is stable.
const require = createRequire(import.meta.url);
const Pool = require("undici/lib/dispatcher/pool.js") as typeof PoolType;
type Pool = PoolType;
const H2CClient = require("undici/lib/dispatcher/h2c-client.js") as new (
  origin: string,
  opts: object,
) => Dispatcher;
import type { TlsState } from "../tls/material.js";
import { certSpiffeId, isRevoked, type RevokedSerials } from "../tls/identity.js";

export interface PoolOptions {
  /** mTLS material, or null for plain TCP (the local app, or a destination without a sidecar). */
  tls: TlsState | null;
  /** SPIFFE ID the peer must present (mTLS only). */
  expectedPeer: string | null;
  /** Peer certificates to refuse though the CA signed them (mTLS only). */
  revoked?: RevokedSerials;
  /** Connection cap for this endpoint; null: unlimited. */
  connections: number | null;
  idleTimeoutMs: number;
  /** Speak HTTP/2: negotiated by ALPN over TLS, prior knowledge (h2c) in plain text. */
  h2?: boolean;
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
  if (opts.tls === null) {
    if (opts.h2)
      return new H2CClient(`http://${address}`, {
        keepAliveTimeout: common.keepAliveTimeout,
        headersTimeout: 0,
        bodyTimeout: 0,
      }) as unknown as Pool;
    return new Pool(`http://${address}`, common);
  }
  const expected = opts.expectedPeer;
  const revoked = opts.revoked ?? new Set<string>();
  return new Pool(`https://${address}`, {
    ...common,
    allowH2: opts.h2 === true,
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
          ) as Error & { code: string };
          err.code = "ERR_TRELLIS_PEER_IDENTITY";
          return err;
        }
        return id !== null ? undefined : defaultCheck(host, cert);
      },
    },
  });
}
