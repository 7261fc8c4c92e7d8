// Benchmark child: one control-plane replica. Reports its PID so the parent can read /proc for CPU and RSS.
// Its log goes to stderr: a proxy the control plane drops must say why, not leave the harness waiting.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { writeHeapSnapshot } from "node:v8";
import { meshCompiler, startControlPlane } from "@trellis/control-plane";

const cp = await startControlPlane({
  databaseUrl: process.env.BENCH_DATABASE_URL,
  secret: "bench-secret-bench-secret-bench-secret-0",
  compile: meshCompiler(),
  port: Number(process.env.BENCH_PORT ?? 0),
  heartbeatMs: 30_000,
  // Default 6 heartbeats (180 s). BENCH_STALE_AFTER_MS shorter than a restart's rejoin reproduces at 2,000
  // proxies what a restart under 5,000 did with the default (decision 019: the sweep during a rejoin).
  ...(process.env.BENCH_STALE_AFTER_MS
    ? { workloadStaleAfterMs: Number(process.env.BENCH_STALE_AFTER_MS) }
    : {}),
  telemetryIntervalMs: 60_000,
  debounceMs: 50,
  // The fleet joins with one namespace-wide token: every proxy of the bench is one stream of it (the default
  // limit, 256 per replica, is for one namespace's proxies in production; `--max-streams-per-join-token`).
  maxStreamsPerJoinToken: 1_000_000,
  log: (l) => process.stderr.write(`cp: ${l}\n`),
});
let profiler = null;
process.send({ type: "ready", url: cp.url, pid: process.pid });
process.on("message", async (m) => {
  if (m.type === "stats") process.send({ type: "stats", stats: cp.stats(), memory: process.memoryUsage() });
  if (m.type === "gc") {
    global.gc?.();
    process.send({ type: "gc" });
  }
  if (m.type === "heap") {
    writeHeapSnapshot(m.file);
    process.send({ type: "heap" });
  }
  if (m.type === "profile-start") {
    profiler = new Session();
    profiler.connect();
    await profiler.post("Profiler.enable");
    await profiler.post("Profiler.start");
    process.send({ type: "profile-start" });
  }
  if (m.type === "profile-stop") {
    const { profile } = await profiler.post("Profiler.stop");
    writeFileSync(m.file, JSON.stringify(profile));
    profiler.disconnect();
    process.send({ type: "profile-stop" });
  }
  if (m.type === "stop") {
    await cp.close();
    process.exit(0);
  }
});
