// Join-token revocation as one replica sees it: the services layer has already marked the token's workloads
// gone and revoked their certificates; each replica closes the streams that joined with the token, and
// remembers the token so that a stream opened a moment later (authenticated just before the revocation
// committed) is refused all the same. The database check at join time refuses every later one.
import { REVOKED_REASON, STREAM_CLOSE } from "@trellis/contracts";
import type { Db } from "@trellis/db";
import type { ProxySession } from "./session.js";
import { revokeCertificates } from "./stream-certificates.js";

export interface RevocationsOptions {
  db: Db;
  /** Every open stream of this replica, also those still before hello. */
  streams: () => Iterable<ProxySession>;
  /** Streams were closed: their workloads are gone, and every proxy needs the new revocation list. */
  onEvicted: () => void;
  log: (line: string) => void;
}

export interface Revocations {
  /** Heard revoked since this replica started. */
  has(joinTokenId: string): boolean;
  /** Closes the streams of the proxies that joined with a revoked token; their certificates are revoked. */
  evict(joinTokenId: string): Promise<void>;
  /**
   * Evicts the proxies of tokens revoked without this replica hearing it (the notification connection was
   * down): checked after it is restored, and by housekeeping.
   */
  evictMissed(): Promise<void>;
}

export function createRevocations({ db, streams, onEvicted, log }: RevocationsOptions): Revocations {
  const revoked = new Set<string>();

  async function evict(joinTokenId: string): Promise<void> {
    revoked.add(joinTokenId);
    const evicted = [...streams()].filter((s) => s.joinTokenId === joinTokenId);
    if (evicted.length === 0) return;
    log(`control plane: join token ${joinTokenId} revoked; evicting ${evicted.length} proxies`);
    try {
      // A renewal may have issued a certificate the revocation did not see: list what each stream holds.
      await revokeCertificates(db, evicted);
    } catch (e) {
      log(`control plane: recording evicted proxies' certificates failed: ${(e as Error).message}`);
    }
    await Promise.all(evicted.map((s) => s.close(STREAM_CLOSE.revoked, REVOKED_REASON)));
    onEvicted();
  }

  return {
    has: (joinTokenId) => revoked.has(joinTokenId),
    evict,
    async evictMissed() {
      const ids = [...new Set([...streams()].map((s) => s.joinTokenId))].filter((id) => !revoked.has(id));
      if (ids.length === 0) return;
      const rows = await db.joinToken.findMany({
        where: { id: { in: ids }, revokedAt: { not: null } },
        select: { id: true },
      });
      await Promise.all(rows.map((t) => evict(t.id)));
    },
  };
}
