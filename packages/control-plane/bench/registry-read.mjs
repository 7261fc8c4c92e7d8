#!/usr/bin/env node
// The registry read every recompute makes (`loadRegistry`): CPU of this process (the control plane's part) and
// of the PostgreSQL backends serving it, per read, for the raw statement it uses (PostgreSQL builds the JSON)
// against the Prisma `findMany` with `include` it replaced (decision 019), in alternating rounds in one
// process, with the load average beside the numbers (other sessions share the machine's 2 cores).
//   node bench/registry-read.mjs [workloads, default 2000] [reads per round, default 20] [rounds, default 5]
import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { createTestDatabase } from "@trellis/db/testing";
import { createDb } from "@trellis/db";
import { loadRegistry, prismaRegistryReference } from "@trellis/control-plane/testing";

const [workloads = 2000, perRound = 20, rounds = 5] = process.argv.slice(2).map(Number);
const services = Math.max(1, Math.round(workloads / 10));
const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

const tdb = await createTestDatabase("bench-registry");
const db = createDb(tdb.url, { max: 2 });
try {
  // As the join bench registers them: one service per 10 proxies, two versions, a label each.
  await db.$executeRawUnsafe(`
    INSERT INTO "Service" (id, namespace, name, vip, "updatedAt")
    SELECT 's' || i, 'bench', 'svc-' || i, '240.0.' || (i / 256) || '.' || (i % 256), now()
    FROM generate_series(1, ${services}) i`);
  await db.$executeRawUnsafe(`
    INSERT INTO "Workload" (id, "serviceId", version, labels, address, identity, status)
    SELECT gen_random_uuid()::text, 's' || (1 + i % ${services}), 'v' || (i % 2),
      jsonb_build_object('zone', 'z' || (i % 3)), '10.1.' || (i / 256) || '.' || (i % 256) || ':15006',
      'spiffe://bench.local/ns/bench/sa/svc-' || (1 + i % ${services}), 'connected'
    FROM generate_series(0, ${workloads - 1}) i`);
  const readers = {
    "raw, JSON built by PostgreSQL (now)": async () => (await loadRegistry(db)).services,
    "Prisma findMany + include (before)": () => prismaRegistryReference(db),
  };
  const [a, b] = await Promise.all(Object.values(readers).map((r) => r()));
  if (!isDeepStrictEqual(a, b)) throw new Error("the two reads differ");
  if (a.flatMap((s) => s.workloads).length !== workloads) throw new Error("workloads missing");
  const totals = Object.fromEntries(Object.keys(readers).map((k) => [k, 0]));
  const pgTotals = { ...totals };
  // The pool's backends (2 connections), whose CPU /proc shows: PostgreSQL runs on these cores too.
  const backends = new Set();
  for (let i = 0; i < 20 && backends.size < 2; i++)
    for (const [r] of await Promise.all([0, 1].map(() => db.$queryRaw`SELECT pg_backend_pid() AS pid`)))
      backends.add(r.pid);
  const pgCpuUs = () =>
    [...backends].reduce((sum, pid) => {
      const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      return sum + (Number(f[11]) + Number(f[12])) * 10_000; // clock ticks of 10 ms
    }, 0);
  for (const read of Object.values(readers)) for (let i = 0; i < 5; i++) await read(); // warm-up
  const loadBefore = load();
  for (let r = 0; r < rounds; r++)
    for (const [name, read] of Object.entries(readers)) {
      const [t, pg] = [cpuUs(), pgCpuUs()];
      for (let i = 0; i < perRound; i++) await read();
      totals[name] += cpuUs() - t;
      pgTotals[name] += pgCpuUs() - pg;
    }
  const n = perRound * rounds;
  const reference = totals["Prisma findMany + include (before)"] / n;
  console.log(
    `\n${services} services, ${workloads} workloads; ${n} reads each in ${rounds} alternating rounds; load average ${loadBefore} → ${load()} (2 cores)\n`,
  );
  console.log(
    "| read | CPU per read, this process (ms) | relative to Prisma | PostgreSQL backends' CPU per read (ms) |",
  );
  console.log("|---|---|---|---|");
  for (const [name, us] of Object.entries(totals))
    console.log(
      `| ${name} | ${(us / n / 1000).toFixed(1)} | ${(us / n / reference).toFixed(2)}x | ${(pgTotals[name] / n / 1000).toFixed(1)} |`,
    );
} finally {
  await db.$disconnect();
  await tdb.drop();
}
