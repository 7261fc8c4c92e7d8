#!/usr/bin/env node
// Where a generation's rollout rows go (decision 019, "the change after a big join"): EXPLAIN ANALYZE of the
// one INSERT … unnest that `Rollout.recordGeneration` runs, at N workloads, with PostgreSQL's own timing of
// each part (the foreign-key checks are triggers, reported apart from the plan).
//   node bench/rollout-insert.mjs [N]   (default 5000; needs DATABASE_URL)
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import pg from "pg";
import { createTestDatabase } from "@trellis/db/testing";

const n = Number(process.argv[2] ?? 5000);
const tdb = await createTestDatabase("rollout");
const c = new pg.Client({ connectionString: tdb.url });
await c.connect();
try {
  const svc = randomUUID();
  await c.query(
    `INSERT INTO "Service" (id, namespace, name, "updatedAt") VALUES ($1, 'bench', 'svc', now())`,
    [svc],
  );
  const ids = Array.from({ length: n }, () => randomUUID());
  await c.query(
    `INSERT INTO "Workload" (id, "serviceId", version, address, identity)
     SELECT w, $1, 'v1', '127.0.0.1:1', 'spiffe://x' FROM unnest($2::text[]) w`,
    [svc, ids],
  );
  const insert = async (number, explain) => {
    const r = await c.query(
      `${explain ? "EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) " : ""}
      INSERT INTO "ProxyConfigStatus" (id, "generationId", "workloadId", version, state, reason, "updatedAt")
      SELECT gen_random_uuid()::text, g.id, e.w, e.v, e.s::"RolloutState", e.r, now() AT TIME ZONE 'UTC'
      FROM "ConfigGeneration" g,
           unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS e(w, v, s, r)
      WHERE g.number = $1
      ON CONFLICT ("generationId", "workloadId") DO NOTHING`,
      [number, ids, ids.map(() => "abcdef0123456789"), ids.map(() => "pending"), ids.map(() => null)],
    );
    return r.rows.map((x) => x["QUERY PLAN"]).join("\n");
  };
  // Earlier generations' rows, as after a few changes: the unique index and the workload index hold them.
  for (let i = 0; i < 10; i++) {
    const { rows } = await c.query(`INSERT INTO "ConfigGeneration" (id) VALUES ($1) RETURNING number`, [
      randomUUID(),
    ]);
    const t = performance.now();
    const plan = await insert(rows[0].number, i === 9);
    const ms = performance.now() - t;
    console.log(`generation ${i + 1}: ${n} rows in ${ms.toFixed(1)} ms (load ${loadavg()[0].toFixed(1)})`);
    if (plan) console.log(plan);
  }
} finally {
  await c.end();
  await tdb.drop();
}
