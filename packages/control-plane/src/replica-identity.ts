// Who this replica is to its proxies: the mesh CA (loaded, or created by the first replica) and a serving
// certificate it signs for the names proxies use to reach this replica.
import { hostname } from "node:os";
import { DEFAULT_TRUST_DOMAIN } from "@trellis/contracts";
import type { Db } from "@trellis/db";
import { MeshCa } from "./ca.js";

export interface ReplicaIdentity {
  ca: MeshCa;
  serving: { certPem: string; keyPem: string };
}

/** Throws when the CA certifies another trust domain than the one asked for (the caller disconnects). */
export async function loadReplicaIdentity(
  db: Db,
  opts: { secret: string; trustDomain?: string; advertiseHosts?: string[] },
): Promise<ReplicaIdentity> {
  const ca = await MeshCa.loadOrCreate(db, {
    secret: opts.secret,
    trustDomain: opts.trustDomain ?? DEFAULT_TRUST_DOMAIN,
  });
  // The CA fixes the trust domain when it is created; every identity it certifies and every config names it.
  const trustDomain = ca.trustDomain;
  if (opts.trustDomain !== undefined && opts.trustDomain !== trustDomain) {
    throw new Error(
      `the mesh CA certifies trust domain "${trustDomain}", not "${opts.trustDomain}": changing the trust domain needs a new CA (and a new certificate for every proxy), which Trellis does not do yet; unset TRELLIS_TRUST_DOMAIN or set it to "${trustDomain}"`,
    );
  }
  const hosts = [...new Set(["localhost", "127.0.0.1", "::1", hostname(), ...(opts.advertiseHosts ?? [])])];
  const serving = await ca.issueServing(hosts, 365 * 86_400_000);
  return { ca, serving };
}
