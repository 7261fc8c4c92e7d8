// The statements that update many workload rows at once — the heartbeat (`touchWorkloads`), the batched ACK
// write (`Rollout`) and the stale-workload sweep — run concurrently on every replica during a join storm. Two
// multi-row UPDATEs that lock overlapping rows in different orders deadlock (PostgreSQL aborts one:
// "Housekeeping failed: deadlock detected"); each takes its rows in id order, so they queue instead. Real
// PostgreSQL, thousands of rows, all three at once, many rounds: the heartbeat and the sweep are not retried,
// so a deadlock that picks either as its victim is their error.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb } from "@trellis/db";
import { sweepStaleWorkloads, touchWorkloads } from "./registry.js";
import { Rollout } from "./rollout.js";

const url = inject("databaseUrl");
const db = createDb(url, { max: 8 });
const N = 3_000;
let ids: string[] = [];

beforeAll(async () => {
  const service = randomUUID();
  await db.$executeRaw`
    INSERT INTO "Service" (id, namespace, name, "updatedAt") VALUES (${service}, 'row-locks', 'many', now())`;
  ids = Array.from({ length: N }, () => randomUUID());
  // Physical order unlike id order: the order a sequential scan or a hash join meets the rows in.
  await db.$executeRaw`
    INSERT INTO "Workload" (id, "serviceId", version, address, identity, "controlPlaneId")
    SELECT w, ${service}, 'v1', '127.0.0.1:1', 'spiffe://trellis.local/ns/row-locks/sa/many', 'row-locks'
    FROM unnest(${ids}::text[]) w`;
  await db.$executeRaw`ANALYZE "Workload"`;
});

afterAll(async () => {
  await db.workload.deleteMany({ where: { service: { namespace: "row-locks" } } });
  await db.service.deleteMany({ where: { namespace: "row-locks" } });
  await db.$disconnect();
});

describe("multi-row workload updates", () => {
  it("the heartbeat, batched ACKs and the sweep run at once without deadlocking", async () => {
    const errors: string[] = [];
    const rollout = new Rollout(db, (l) => errors.push(l));
    const shuffled = () => [...ids].sort(() => Math.random() - 0.5);
    for (let round = 0; round < 15; round++) {
      const heartbeat = touchWorkloads(db, shuffled()).catch((e: Error) => errors.push(e.message));
      // ACKs of every proxy in another order, written as one batch (the Rollout retries when it is the victim).
      const acks = Promise.all(shuffled().map((id) => rollout.ack(id, `v${round}`))).catch((e: Error) =>
        errors.push(e.message),
      );
      const sweep = sweepStaleWorkloads(db, { staleAfterMs: 0, maxStaleMs: 0 }).catch((e: Error) =>
        errors.push(e.message),
      );
      await Promise.all([heartbeat, acks, sweep]);
      // The sweep marked them gone: connected again for the next round.
      await db.$executeRaw`
        UPDATE "Workload" SET status = 'connected'::"WorkloadStatus", "disconnectedAt" = NULL
        WHERE "controlPlaneId" = 'row-locks'`;
    }
    expect(errors).toEqual([]);
  }, 120_000);
});
