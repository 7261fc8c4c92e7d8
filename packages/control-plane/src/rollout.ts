// Per config generation, per proxy: pending → acked / nacked (with the proxy's reason). This is what lets a
// change request say "applied on 37/37 proxies" or "NACKed by 2: <reason>".
import type { Db } from "@trellis/db";

export interface RolloutEntry {
  workloadId: string;
  version: string;
  state: "pending" | "acked" | "nacked";
  reason?: string;
}

export class Rollout {
  constructor(
    private readonly db: Db,
    private readonly log: (l: string) => void,
  ) {}

  async recordGeneration(number: number, entries: RolloutEntry[]): Promise<void> {
    const gen = await this.db.configGeneration.findUnique({ where: { number } });
    if (!gen) {
      this.log(`control plane: config generation ${number} does not exist; not tracking it`);
      return;
    }
    if (entries.length === 0) return;
    await this.db.proxyConfigStatus.createMany({
      data: entries.map((e) => ({
        generationId: gen.id,
        workloadId: e.workloadId,
        version: e.version,
        state: e.state,
        reason: e.reason ?? null,
      })),
      skipDuplicates: true,
    });
  }

  async ack(workloadId: string, version: string): Promise<void> {
    await this.db.proxyConfigStatus.updateMany({
      where: { workloadId, version, state: "pending" },
      data: { state: "acked" },
    });
  }

  async nack(workloadId: string, version: string, reason: string): Promise<void> {
    await this.db.proxyConfigStatus.updateMany({
      where: { workloadId, version, state: "pending" },
      data: { state: "nacked", reason },
    });
  }
}
