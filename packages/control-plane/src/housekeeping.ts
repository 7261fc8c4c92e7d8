// A replica's periodic database upkeep: its proxies are marked alive, those of a replica that went silent
// are marked gone, expired revocations are pruned, and revocations this replica did not hear are caught up.
// Failures are logged and the next tick tries again.
import type { Db } from "@trellis/db";
import { pruneRevokedCertificates, sweepStaleWorkloads, touchWorkloads } from "./registry.js";

export interface HousekeepingOptions {
  db: Db;
  /** Workload ids of the proxies that said hello to this replica. */
  readyWorkloads: () => string[];
  /** A workload not touched for this long belongs to a replica that is gone (see `sweepStaleWorkloads`). */
  staleAfterMs: number;
  /** A stale workload is swept after this long even while other proxies are still rejoining. */
  maxStaleMs: number;
  /**
   * When this replica started. In its first `staleAfterMs` it sweeps only past `maxStaleMs`: a replica that
   * starts after the one before it stopped (a restart, a crash) finds every registration stale, and is where
   * they rejoin.
   */
  startedAt: number;
  /**
   * Streams of this replica whose proxy has not been welcomed yet. While there are any, it sweeps only past
   * `maxStaleMs`: a restart's rejoins are admitted together and registered at about the same time (of 2,000
   * here, none had registered when the new replica's first sweep ran, 20-30 s after its start; half had 48 s
   * after it), so rejoins already registered say nothing of those still in their handshake, hello or
   * certificate.
   */
  joining: () => number;
  evictMissed: () => Promise<void>;
  /** Workloads were marked gone: every replica must update endpoints. */
  onGone: () => Promise<void>;
  log: (line: string) => void;
}

export function housekeeping(o: HousekeepingOptions): () => Promise<void> {
  return async () => {
    try {
      await touchWorkloads(o.db, o.readyWorkloads());
      const admitting = Date.now() - o.startedAt < o.staleAfterMs || o.joining() > 0;
      const gone = await sweepStaleWorkloads(o.db, {
        staleAfterMs: admitting ? o.maxStaleMs : o.staleAfterMs,
        maxStaleMs: o.maxStaleMs,
      });
      await pruneRevokedCertificates(o.db);
      await o.evictMissed();
      if (gone > 0) {
        o.log(`control plane: ${gone} proxies of a silent replica marked gone`);
        await o.onGone();
      }
    } catch (e) {
      o.log(`control plane: housekeeping failed: ${(e as Error).message}`);
    }
  };
}
