// A replica's periodic database upkeep: its proxies are marked alive, those of a replica that went silent
// are marked gone, expired revocations are pruned, and revocations this replica did not hear are caught up.
// Failures are logged and the next tick tries again.
import type { Db } from "@trellis/db";
import { pruneRevokedCertificates, sweepStaleWorkloads, touchWorkloads } from "./registry.js";

export interface HousekeepingOptions {
  db: Db;
  /** Workload ids of the proxies that said hello to this replica. */
  readyWorkloads: () => string[];
  /** A workload not touched for this long belongs to a replica that is gone. */
  staleAfterMs: number;
  evictMissed: () => Promise<void>;
  /** Workloads were marked gone: every replica must update endpoints. */
  onGone: () => Promise<void>;
  log: (line: string) => void;
}

export function housekeeping(o: HousekeepingOptions): () => Promise<void> {
  return async () => {
    try {
      await touchWorkloads(o.db, o.readyWorkloads());
      const gone = await sweepStaleWorkloads(o.db, o.staleAfterMs);
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
