#!/usr/bin/env node
// Control-plane scale benchmark: N light proxies (a separate process, speaking the real protocol) join one
// control-plane replica (its own process); then one committed change that affects every proxy (MeshSettings
// turns the access log on) is timed from the NOTIFY until each proxy has it (and has sent its ACK), and
// until PostgreSQL holds all N ACKs of the generation. Printed beside the floor: the same bytes written to
// N plain TCP sockets on this machine. Traffic stays on 127.0.0.1.
//   node bench/scale.mjs [N ...]          (default 1000 5000; needs DATABASE_URL or runs an embedded PostgreSQL)
// BENCH_MODES=delta,entry,whole,scoped runs each N with proxies that take deltas with endpoint edits (as the
// sidecar does), with proxies that take deltas of whole service entries only (as before endpoint edits,
// docs/decisions/019), with proxies that take whole configs only (as before deltas existed), and with proxies
// that take deltas and declare the 3 services they call (--reachable-service), side by side; default: delta.
// BENCH_RESTART=1 (restart mode) then also restarts the control plane under the N connected proxies (it
// closes their streams as on shutdown, a new process starts on the same port) and measures the time until
// every proxy has joined again and until every proxy holds what the new replica compiles for it.
// BENCH_STALE_AFTER_MS sets the replica's workloadStaleAfterMs (default 180 s here: 6 of the bench's 30 s
// heartbeats): shorter than the rejoin, it puts the stale-workload sweep inside a restart at a smaller N.
// Environment: BENCH_DEBUG=1 prints phases; BENCH_CP_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" passes
// flags to the control plane's node; BENCH_PROFILE_CHANGE=DIR writes a CPU profile of the control plane
// from just before the NOTIFY until every proxy has the change; BENCH_HEAP=DIR writes heap snapshots of the control plane (joined,
// after the change) to DIR; BENCH_JSON=FILE also writes the rows as JSON; BENCH_HANDSHAKE_TIMEOUT_MS (default 30 s)
// is how long a proxy of the fleet waits for its stream's opening handshake before the run fails.
import { fork } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { encodeNotifyPayload, NOTIFY_CHANNELS, ZConfigChangedPayload } from "@trellis/contracts";
import { createTestDatabase } from "@trellis/db/testing";
import { createDb } from "@trellis/db";
import { createJoinToken, SYSTEM_ACTOR } from "@trellis/services";

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((x) => x > 0);
const TICK = 100; // USER_HZ on Linux
const phase = (p) => process.env.BENCH_DEBUG && process.stderr.write(`bench: ${p}\n`);

function procStat(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return {
    cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / TICK,
    rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)[1]),
    hwmKb: Number(/VmHWM:\s+(\d+)/.exec(status)[1]),
  };
}

/**
 * A benchmark child. Its stdout and stderr are the parent's own (inherited, never a pipe that someone must
 * drain). `next(type)` waits for a message of that type and fails, instead of waiting forever, when the
 * child reports an error, exits, or takes longer than `timeoutMs`.
 */
function child(file, args, { env = {}, execArgv = [] } = {}) {
  const c = fork(here(file), args, {
    env: { ...process.env, ...env },
    execArgv: ["--expose-gc", ...execArgv],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const waiters = new Map();
  const early = new Map(); // messages that arrive before anyone waits for them are kept, not lost
  let failure = null;
  const failAll = (e) => {
    failure = e;
    for (const w of waiters.values()) w.reject(e);
    waiters.clear();
  };
  c.on("message", (m) => {
    if (m.type === "error") return failAll(new Error(`${file}: ${m.error}`));
    if (m.type === "lost") return process.stderr.write(`bench: ${file}: ${m.error}\n`);
    const w = waiters.get(m.type);
    if (w) {
      waiters.delete(m.type);
      w.resolve(m);
    } else early.set(m.type, m);
  });
  c.on("exit", (code, signal) => {
    if (!stopping.has(c)) failAll(new Error(`${file} exited (code ${code}, signal ${signal})`));
  });
  const next = (type, timeoutMs = 600_000) =>
    new Promise((resolve, reject) => {
      if (early.has(type)) {
        const m = early.get(type);
        early.delete(type);
        return resolve(m);
      }
      if (failure) return reject(failure);
      const t = setTimeout(() => {
        waiters.delete(type);
        reject(new Error(`${file}: no "${type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.set(type, {
        resolve: (m) => (clearTimeout(t), resolve(m)),
        reject: (e) => (clearTimeout(t), reject(e)),
      });
    });
  const stop = () => {
    stopping.add(c);
    if (c.exitCode === null && c.signalCode === null) c.send({ type: "stop" });
    return new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once("exit", r)));
  };
  return { c, next, stop, send: (m) => c.send(m) };
}
const stopping = new WeakSet();

const pct = (xs, p) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** The machine's 1-minute load average: other sessions share these 2 cores (print it beside the numbers). */
const load = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
const FEATURES = {
  delta: ["delta", "endpoint-delta"],
  entry: ["delta"],
  whole: [],
  scoped: ["delta", "endpoint-delta"],
};

async function run(n, mode) {
  const loadAtStart = load();
  const tdb = await createTestDatabase("bench");
  const db = createDb(tdb.url, { max: 2 });
  const children = [];
  try {
    const startCp = (port = 0) => {
      const c = child("./cp.mjs", [], {
        env: { BENCH_DATABASE_URL: tdb.url, BENCH_PORT: String(port) },
        execArgv: (process.env.BENCH_CP_ARGS ?? "").split(" ").filter(Boolean),
      });
      children.push(c);
      return c;
    };
    let cp = startCp();
    phase("starting control plane");
    const { url, pid } = await cp.next("ready", 60_000);
    phase("control plane up");
    cp.send({ type: "gc" });
    await cp.next("gc");
    const idle = procStat(pid);
    const { token } = await createJoinToken(db, SYSTEM_ACTOR, { namespace: "bench" });
    const services = Math.max(1, Math.round(n / 10));
    const fleet = child("./fleet.mjs", [
      JSON.stringify({
        url,
        token,
        n,
        services,
        features: FEATURES[mode],
        reachable: mode === "scoped" ? 3 : 0,
        reconnect: Boolean(process.env.BENCH_RESTART),
      }),
    ]);
    children.push(fleet);
    await fleet.next("ready", 60_000);
    fleet.send({ type: "join" });
    const joined = await fleet.next("joined", 1_800_000);
    phase(`joined in ${joined.ms} ms`);
    // Let the join storm's recomputes and ACK writes settle: wait until the control plane is idle.
    let quiet = procStat(pid).cpuMs;
    for (;;) {
      await sleep(1000);
      const now = procStat(pid).cpuMs;
      if (now - quiet < 50) break;
      quiet = now;
    }
    // The join's cost to the control plane: everything it spent from idle until the storm settled (TLS,
    // certificates, join statements, the recomputes and pushes the joins caused), per proxy.
    const joinCpuMs = procStat(pid).cpuMs - idle.cpuMs;
    cp.send({ type: "gc" });
    await cp.next("gc");
    if (process.env.BENCH_HEAP) {
      cp.send({ type: "heap", file: `${process.env.BENCH_HEAP}/cp-${n}-joined.heapsnapshot` });
      await cp.next("heap");
    }
    cp.send({ type: "stats" });
    const { stats: joinedStats, memory: joinedMemory } = await cp.next("stats");
    phase(`joined: ${JSON.stringify(joinedStats)}`);
    const before = procStat(pid);
    const fleetBefore = procStat(fleet.c.pid);

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
    if (process.env.BENCH_PROFILE_CHANGE) {
      cp.send({ type: "profile-start" });
      await cp.next("profile-start");
    }
    const notifier = new pg.Client({ connectionString: tdb.url });
    await notifier.connect();
    const t0 = Date.now();
    fleet.send({ type: "expect-change", at: t0, timeoutMs: 120_000 });
    await notifier.query("SELECT pg_notify($1, $2)", [
      NOTIFY_CHANNELS.configChanged,
      encodeNotifyPayload(ZConfigChangedPayload, { generation: gen.number }),
    ]);
    await notifier.end();
    // Meanwhile: when does PostgreSQL hold all N ACKs of the generation?
    let acked = 0;
    let allAckedMs = NaN;
    let peakRssKb = 0;
    const deadline = t0 + 120_000;
    while (Date.now() < deadline) {
      peakRssKb = Math.max(peakRssKb, procStat(pid).rssKb);
      acked = await db.proxyConfigStatus.count({ where: { generationId: gen.id, state: "acked" } });
      if (acked >= n) {
        allAckedMs = Date.now() - t0;
        break;
      }
      await sleep(20);
    }
    const after = procStat(pid);
    const { latencies, bytesReceived } = await fleet.next("changed", 180_000);
    const fleetAfter = procStat(fleet.c.pid);
    if (process.env.BENCH_PROFILE_CHANGE) {
      cp.send({
        type: "profile-stop",
        file: `${process.env.BENCH_PROFILE_CHANGE}/cp-${n}-${mode}-change.cpuprofile`,
      });
      await cp.next("profile-stop");
    }
    phase(`change seen by ${latencies.length}, ${acked} ACKs recorded`);
    if (process.env.BENCH_HEAP) {
      cp.send({ type: "heap", file: `${process.env.BENCH_HEAP}/cp-${n}-changed.heapsnapshot` });
      await cp.next("heap");
    }
    cp.send({ type: "stats" });
    const { stats } = await cp.next("stats");
    const bytes = Math.round(bytesReceived / Math.max(1, latencies.length));
    const loadAfterChange = load();

    let restart = null;
    if (process.env.BENCH_RESTART) {
      phase("restarting the control plane");
      const port = Number(new URL(url).port);
      const r0 = Date.now();
      fleet.send({ type: "expect-restart", at: r0, timeoutMs: 1_200_000 });
      await cp.stop();
      const downMs = Date.now() - r0;
      cp = startCp(port);
      const { pid: newPid } = await cp.next("ready", 60_000);
      const upMs = Date.now() - r0;
      phase(`new control plane up after ${upMs} ms`);
      // In sync: every proxy joined again and holds what the new replica compiles for it (its stats say so).
      let syncMs = NaN;
      let last = null;
      for (const deadline = r0 + 1_200_000; Date.now() < deadline;) {
        cp.send({ type: "stats" });
        last = (await cp.next("stats")).stats;
        if (last.sessions === n && last.inSync === n) {
          syncMs = Date.now() - r0;
          break;
        }
        await sleep(100);
      }
      const rejoined = await fleet.next("rejoined", 1_200_000);
      phase(`restart: in sync after ${syncMs} ms (${last?.inSync}/${last?.sessions})`);
      const cpu = procStat(newPid);
      restart = {
        downMs,
        upMs,
        rejoinP50: pct(rejoined.latencies, 50),
        rejoinP99: pct(rejoined.latencies, 99),
        rejoinAll: rejoined.latencies.length === n ? Math.max(...rejoined.latencies) : NaN,
        syncMs,
        configs: rejoined.configs,
        bytes: rejoined.bytesReceived,
        cpCpuMs: cpu.cpuMs,
        cpCpuPerProxyMs: cpu.cpuMs / n,
        rssMb: cpu.rssKb / 1024,
      };
    }
    await fleet.stop();

    phase(`floor with ${bytes} bytes`);
    const floor = child("./floor.mjs", [JSON.stringify({ n, bytes })]);
    children.push(floor);
    const { latencies: floorLat } = await floor.next("floor", 300_000);
    await floor.stop();
    await cp.stop();
    return {
      n,
      mode,
      deltasSent: stats.deltas - joinedStats.deltas,
      wholeSent: stats.wholeConfigs - joinedStats.wholeConfigs,
      services,
      groups: stats.groups,
      joinedMs: joined.ms,
      joinBytes: joinedStats.bytesPushed,
      joinDeltas: joinedStats.deltas,
      joinCpuMs,
      loadAtStart,
      loadAfterChange,
      restart,
      received: latencies.length,
      acked,
      p50: pct(latencies, 50),
      p99: pct(latencies, 99),
      max: Math.max(...latencies),
      allAckedMs,
      floorP50: pct(floorLat, 50),
      floorP99: pct(floorLat, 99),
      floorMax: Math.max(...floorLat),
      bytes,
      cpuMs: after.cpuMs - before.cpuMs,
      fleetCpuMs: fleetAfter.cpuMs - fleetBefore.cpuMs,
      recomputeMs: stats.lastRecomputeMs,
      phases: stats.lastRecomputePhases,
      rssMb: before.rssKb / 1024,
      peakRssMb: peakRssKb / 1024,
      perProxyKb: (before.rssKb - idle.rssKb) / n,
      heapPerProxyKb: (joinedMemory.heapUsed + joinedMemory.external) / 1024 / n,
      pushes: stats.pushes - joinedStats.pushes,
    };
  } finally {
    for (const c of children) if (c.c.exitCode === null && c.c.signalCode === null) c.c.kill();
    await db.$disconnect();
    await tdb.drop();
  }
}

const rows = [];
try {
  const modes = (process.env.BENCH_MODES ?? "delta").split(",").filter(Boolean);
  for (const n of sizes.length ? sizes : [1000, 5000]) {
    for (const mode of modes) {
      process.stderr.write(`bench: ${n} proxies, ${mode}…\n`);
      rows.push(await run(n, mode));
    }
  }
} catch (e) {
  process.stderr.write(`bench: ${e.message}\n`);
  process.exitCode = 1;
}
const f = (x) => (Number.isFinite(x) ? Math.round(x).toString() : "-");
console.log("\nOne change reaching every proxy: ms from the NOTIFY until each proxy has it and has ACKed\n");
console.log(`\nThe join (load average: 1-minute, at the run's start and after the change; 2 cores)\n`);
console.log(
  "| proxies | mode | join all (s) | join rate (/s) | CP CPU per joined proxy (ms) | bytes pushed during the join (MB) | deltas during the join | load |",
);
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows)
  console.log(
    `| ${r.n} | ${r.mode} | ${(r.joinedMs / 1000).toFixed(1)} | ${Math.round(r.n / (r.joinedMs / 1000))} | ${(r.joinCpuMs / r.n).toFixed(1)} | ${f(r.joinBytes / 1e6)} | ${r.joinDeltas} | ${r.loadAtStart.toFixed(1)} / ${r.loadAfterChange.toFixed(1)} |`,
  );
if (rows.some((r) => r.restart)) {
  console.log("\nControl-plane restart under N connected proxies: ms from the stop of the old process\n");
  console.log(
    "| proxies | mode | old one gone | new one up | rejoined p50 | rejoined p99 | all rejoined | all in sync | configs sent | bytes sent | new CP CPU (ms) | per proxy (ms) | new CP RSS (MB) |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows.filter((x) => x.restart)) {
    const x = r.restart;
    console.log(
      `| ${r.n} | ${r.mode} | ${f(x.downMs)} | ${f(x.upMs)} | ${f(x.rejoinP50)} | ${f(x.rejoinP99)} | ${f(x.rejoinAll)} | ${f(x.syncMs)} | ${x.configs} | ${x.bytes} | ${f(x.cpCpuMs)} | ${x.cpCpuPerProxyMs.toFixed(1)} | ${f(x.rssMb)} |`,
    );
  }
}
console.log(
  "\n| proxies | sent as | groups | join all (s) | ACKed | p50 | p99 | max | all ACKs in DB | floor p50 | floor p99 | floor max | p99 / floor p99 | config bytes | CP CPU (ms) | fleet CPU (ms) | recompute (ms) | CP RSS (MB) | peak RSS (MB) | RSS per proxy (KB) | heap per proxy (KB) |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(
    `| ${r.n} | ${r.mode === "whole" ? `whole (${r.wholeSent})` : `${r.mode === "scoped" ? "3 services each, " : r.mode === "entry" ? "entries only, " : ""}deltas (${r.deltasSent} deltas, ${r.wholeSent} whole)`} | ${r.groups} | ${(r.joinedMs / 1000).toFixed(1)} | ${r.acked} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${f(r.allAckedMs)} | ${f(r.floorP50)} | ${f(r.floorP99)} | ${f(r.floorMax)} | ${(r.p99 / Math.max(1, r.floorP99)).toFixed(1)}x | ${r.bytes} | ${f(r.cpuMs)} | ${f(r.fleetCpuMs)} | ${f(r.recomputeMs)} | ${f(r.rssMb)} | ${f(r.peakRssMb)} | ${r.perProxyKb.toFixed(1)} | ${r.heapPerProxyKb.toFixed(1)} |`,
  );
}
console.log(
  "\nThe change's recompute, by phase (ms): load state | compile and build snapshots | rollout rows (after the pushes were handed over: the INSERT runs while they go out, and this waits on the event loop too) | hand to push queue\n",
);
for (const r of rows)
  console.log(
    `${r.n} ${r.mode}: ${f(r.phases.loadMs)} | ${f(r.phases.buildMs)} | ${f(r.phases.recordMs)} | ${f(r.phases.pushMs)}`,
  );
if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify(rows, null, 2));
process.exit();
