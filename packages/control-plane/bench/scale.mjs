#!/usr/bin/env node
// Control-plane scale benchmark: N light proxies (a separate process, speaking the real protocol) join one
// control-plane replica (its own process); then one committed change that affects every proxy (MeshSettings
// turns the access log on) is timed from the NOTIFY until each proxy has received it. Printed beside the
// floor: the same bytes written to N plain TCP sockets on this machine.
//   node bench/scale.mjs [N ...]          (default 1000 5000; needs DATABASE_URL or runs an embedded PostgreSQL)
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createTestDatabase } from "@trellis/db/testing";
import { createDb } from "@trellis/db";
import { createJoinToken, SYSTEM_ACTOR } from "@trellis/services";

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((x) => x > 0);
const TICK = 100; // USER_HZ on Linux

function procStat(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return {
    cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / TICK,
    rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)[1]),
    hwmKb: Number(/VmHWM:\s+(\d+)/.exec(status)[1]),
  };
}

function child(file, args, env = {}) {
  const c = fork(here(file), args, {
    env: { ...process.env, ...env },
    execArgv: ["--expose-gc"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  // Messages that arrive before anyone waits for them are kept, not lost.
  const waiters = new Map();
  const early = new Map();
  c.on("message", (m) => {
    const w = waiters.get(m.type);
    if (w) {
      waiters.delete(m.type);
      w(m);
    } else early.set(m.type, m);
  });
  c.on("exit", (code) => {
    if (code !== 0 && code !== null) {
      process.stderr.write(`bench: ${file} exited with ${code}\n`);
      process.exit(1);
    }
  });
  const next = (type) =>
    new Promise((r) => {
      if (early.has(type)) {
        const m = early.get(type);
        early.delete(type);
        return r(m);
      }
      waiters.set(type, r);
    });
  return { c, next, send: (m) => c.send(m) };
}

const pct = (xs, p) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function run(n) {
  const phase = (p) => process.env.BENCH_DEBUG && process.stderr.write(`bench: ${p}\n`);
  const tdb = await createTestDatabase("bench");
  const db = createDb(tdb.url, { max: 2 });
  try {
    const cp = child("./cp.mjs", [], { BENCH_DATABASE_URL: tdb.url });
    phase("starting control plane");
    const { url, pid } = await cp.next("ready");
    phase("control plane up");
    const idle = procStat(pid);
    const { token } = await createJoinToken(db, SYSTEM_ACTOR, { namespace: "bench" });
    const fleet = child("./fleet.mjs", [
      JSON.stringify({ url, token, n, services: Math.max(1, Math.round(n / 10)) }),
    ]);
    await fleet.next("ready");
    fleet.send({ type: "join" });
    const joined = await fleet.next("joined");
    phase(`joined in ${joined.ms} ms`);
    await new Promise((r) => setTimeout(r, 3000)); // let the join storm's recomputes settle
    cp.send({ type: "gc" });
    await cp.next("gc");
    const before = procStat(pid);

    phase("quiet; committing the change");
    const gen = await db.configGeneration.create({ data: { reason: "bench" } });
    await db.resource.upsert({
      where: { kind_namespace_name: { kind: "MeshSettings", namespace: "trellis-system", name: "mesh" } },
      create: {
        kind: "MeshSettings",
        namespace: "trellis-system",
        name: "mesh",
        spec: { telemetry: { accessLog: true } },
      },
      update: { spec: { telemetry: { accessLog: true } }, revision: { increment: 1 } },
    });
    const notifier = new pg.Client({ connectionString: tdb.url });
    await notifier.connect();
    const t0 = Date.now();
    fleet.send({ type: "expect-change", at: t0, timeoutMs: 120_000 });
    await notifier.query("SELECT pg_notify('trellis_config_changed', $1)", [
      JSON.stringify({ generation: gen.number }),
    ]);
    const { latencies } = await fleet.next("changed");
    phase(`change seen by ${latencies.length}`);
    const after = procStat(pid);
    await notifier.end();
    let acked = 0;
    for (let i = 0; i < 100 && acked < n; i++) {
      acked = await db.proxyConfigStatus.count({ where: { generationId: gen.id, state: "acked" } });
      if (acked < n) await new Promise((r) => setTimeout(r, 100));
    }

    // Bytes one proxy received for the change: the size of its config message.
    const svcRow = await db.service.count();
    cp.send({ type: "stats" });
    const { stats } = await cp.next("stats");
    const bytes = Number(process.env.BENCH_BYTES ?? 0) || (await configBytes(url, token));

    phase(`floor with ${bytes} bytes`);
    const floor = child("./floor.mjs", [JSON.stringify({ n, bytes })]);
    const { latencies: floorLat } = await floor.next("floor");

    fleet.send({ type: "stop" });
    cp.send({ type: "stop" });
    await new Promise((r) => cp.c.once("exit", r));
    return {
      n,
      services: svcRow,
      joinedMs: joined.ms,
      received: latencies.length,
      acked,
      p50: pct(latencies, 50),
      p99: pct(latencies, 99),
      max: Math.max(...latencies),
      floorP50: pct(floorLat, 50),
      floorP99: pct(floorLat, 99),
      floorMax: Math.max(...floorLat),
      bytes,
      cpuMs: after.cpuMs - before.cpuMs,
      rssMb: after.rssKb / 1024,
      perProxyKb: (before.rssKb - idle.rssKb) / n,
      pushes: stats.pushes,
      recomputeMs: stats.lastRecomputeMs,
    };
  } finally {
    await db.$disconnect();
    await tdb.drop();
  }
}

/** The size of one proxy's config now: join one more light proxy and measure what it receives. */
async function configBytes(url, token) {
  const { default: WebSocket } = await import("ws");
  const { fetchPinnedCa, generateKeyAndCsr } = await import("@trellis/dataplane/mesh");
  const ca = await fetchPinnedCa(url, token);
  const { csrPem } = await generateKeyAndCsr();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/v1/stream`, { ca, headers: { authorization: `Bearer ${token}` } });
    ws.on("open", () =>
      ws.send(
        JSON.stringify({
          type: "hello",
          node: {
            namespace: "bench",
            service: "svc-0",
            version: "v0",
            address: "10.9.9.9:15006",
            labels: {},
          },
          csr: csrPem,
        }),
      ),
    );
    ws.on("message", (d) => {
      if (d.toString("latin1", 0, 20).includes('"config"')) {
        resolve(d.length);
        ws.terminate();
      }
    });
    ws.on("error", reject);
  });
}

process.on("exit", (c) => process.env.BENCH_DEBUG && process.stderr.write(`bench: exit ${c}\n`));
const rows = [];
for (const n of sizes.length ? sizes : [1000, 5000]) {
  process.stderr.write(`bench: ${n} proxies…\n`);
  rows.push(await run(n));
}
const f = (x) => (Number.isFinite(x) ? Math.round(x).toString() : "-");
console.log("\nControl plane: one change reaching every proxy (ms from NOTIFY to the proxy having it)\n");
console.log(
  "| proxies | services | join all (ms) | received | acked | p50 | p99 | max | floor p50 | floor p99 | floor max | p99 / floor p99 | config bytes | CP CPU for the change (ms) | last recompute (ms) | CP RSS (MB) | RSS per proxy (KB) |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(
    `| ${r.n} | ${r.services} | ${f(r.joinedMs)} | ${r.received} | ${r.acked} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${f(r.floorP50)} | ${f(r.floorP99)} | ${f(r.floorMax)} | ${(r.p99 / Math.max(1, r.floorP99)).toFixed(1)}x | ${r.bytes} | ${f(r.cpuMs)} | ${f(r.recomputeMs)} | ${f(r.rssMb)} | ${r.perProxyKb.toFixed(1)} |`,
  );
}
process.exit(0);
