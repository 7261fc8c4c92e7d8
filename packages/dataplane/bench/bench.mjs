// Trellis data-plane benchmark. One run prints, for the same load against
//   direct upstream | nginx reverse proxy | node:http + Agent proxy | trellis proxy | two sidecars over mTLS:
// CPU per request at saturation (from the proxies' /proc/PID/stat), max req/s, open-loop latency percentiles at
// fixed rates (latency measured from each request's *scheduled* send time), added p50 over direct, peak RSS.
// Then the same for gRPC (grpc-js client and server), unary and a server stream, against
//   direct | naive node:http2 proxy | trellis quick mode (h2c upstream) | two sidecars over mTLS (callee's app
//   speaks h2c):
// a "call" is one unary exchange or one whole stream; saturation is GRPC_CONCURRENCY calls in flight on one
// channel (one HTTP/2 connection, as a gRPC client runs), latency at one fixed rate.
// The load generator is pinned to CPU 0, proxies and upstream to CPU 1. Targets are interleaved and each number
// is the median of ROUNDS rounds. Traffic goes to 127.0.0.1 only; run time is bounded (~5 minutes, HTTP ~3,
// gRPC ~2). BENCH_ONLY=http or BENCH_ONLY=grpc runs one part.
// BENCH_ONLY=tracing (not in the default run) measures the mesh path (two sidecars, mTLS) with tracing off, at 1 %
// and at 100 % sampling (spans exported over OTLP to a collector that reads and drops them): sidecar CPU per
// request, max req/s, latency at 1k req/s and peak RSS, side by side with "off".
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";
import { cpuPressure, cpuSeconds, markdownTable, median, quantile } from "@trellis/dataplane/testing";
import { makePki } from "./pki.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SAT_SECONDS = Number(process.env.BENCH_SAT_SECONDS ?? 3);
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 3);
const RATES = [1000, 5000];
const CONCURRENCY = 32;
const ONLY = process.env.BENCH_ONLY ?? "";
const GRPC_RATE = Number(process.env.BENCH_GRPC_RATE ?? 500);
const GRPC_CONCURRENCY = 32;
const NGINX = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => existsSync(p));

let children = [];
// nginx's master must be asked to stop (SIGTERM) so that it stops its worker; SIGKILL would orphan it.
process.on("exit", () => children.forEach((c) => c.kill(c.nginx ? "SIGTERM" : "SIGKILL")));
process.on("SIGINT", () => process.exit(130));

// Pin the load generator to CPU 0.
try {
  execFileSync("taskset", ["-cp", "0", String(process.pid)], { stdio: "ignore" });
} catch {
  console.error("warning: taskset failed; results are not pinned");
}

function startRole(role, ...args) {
  return startRoleWith({}, role, ...args);
}

function startRoleWith({ env = {}, cpu = "1" }, role, ...args) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "taskset",
      ["-c", cpu, process.execPath, join(HERE, "servers.mjs"), role, ...args.map(String)],
      { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...env } },
    );
    children.push(child);
    let buf = "";
    child.stdout.on("data", (d) => {
      buf += d;
      const m = /READY (\d+)/.exec(buf);
      if (m) resolve({ port: Number(m[1]), pids: [child.pid] });
    });
    child.once("exit", (code) => reject(new Error(`${role} exited with ${code}`)));
  });
}

/** nginx as a reverse proxy with upstream keep-alive, one worker, pinned to CPU 1. */
async function startNginx(upstreamPort) {
  const dir = mkdtempSync(join(tmpdir(), "trellis-bench-nginx-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  writeFileSync(
    join(dir, "nginx.conf"),
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream up { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 1000000;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`,
  );
  const child = spawn("taskset", ["-c", "1", NGINX, "-c", join(dir, "nginx.conf"), "-p", dir], {
    stdio: "ignore",
  });
  child.nginx = true;
  children.push(child);
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`);
      await res.text();
      break;
    } catch {
      // not listening yet
    }
  }
  // nginx forks a worker; CPU is counted over the master's process tree.
  const pids = treePids(child.pid);
  return { port, pids };
}

function treePids(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const t of readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, "utf8")
        .trim()
        .split(/\s+/)
        .filter(Boolean))
        out.push(Number(t));
    } catch {
      // the process is gone
    }
  }
  return out;
}

function peakRssMb(pids) {
  let kb = 0;
  for (const pid of pids) {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    kb = Math.max(kb, m ? Number(m[1]) : 0);
  }
  return kb / 1024;
}

const pools = new Map();
function poolFor(port) {
  let p = pools.get(port);
  if (!p) {
    p = new Pool(`http://127.0.0.1:${port}`, {
      connections: CONCURRENCY,
      pipelining: 1,
      keepAliveTimeout: 60_000,
    });
    pools.set(port, p);
  }
  return p;
}
async function once(pool) {
  const r = await pool.request({ method: "GET", path: "/bench", headers: { host: "upstream" } });
  await r.body.dump();
  if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
}

const httpCall = (port) => {
  const pool = poolFor(port);
  return () => once(pool);
};

/** Why calls failed, by message, for the report (errors must not hide behind a count). */
const errorKinds = new Map();
function noteError(target, err) {
  const key = `${target}: ${err?.code ?? ""} ${err?.message ?? err}`.slice(0, 200);
  errorKinds.set(key, (errorKinds.get(key) ?? 0) + 1);
}

/**
 * Closed loop, `concurrency` calls in flight for `seconds`: max calls/s, and CPU per call of the measured
 * processes (`pids`: the proxies; `upPids`: the upstream, reported apart) and of this load generator.
 */
async function saturate(call, pids, seconds, { concurrency = CONCURRENCY, upPids = [], name = "" } = {}) {
  let n = 0;
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const c0 = cpuSeconds(pids);
  const u0 = cpuSeconds(upPids);
  const g0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        try {
          await call();
          n++;
        } catch (err) {
          errors++;
          noteError(name, err);
        }
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const cpuSec = cpuSeconds(pids) - c0;
  const upSec = cpuSeconds(upPids) - u0;
  const g = process.cpuUsage(g0);
  return {
    rps: n / secs,
    cpuUsPerReq: (cpuSec * 1e6) / n,
    upUsPerReq: (upSec * 1e6) / n,
    genCpuPct: ((g.user + g.system) / 1e6 / secs) * 100,
    errors,
  };
}

/**
 * Open loop at `rate` calls/s: each call has a scheduled time; latency counts from it, so queueing shows. When
 * the calls took over 10 % longer to complete than to schedule, the target could not keep the rate: overloaded.
 */
async function openLoop(call, rate, seconds, name = "") {
  const total = Math.floor(rate * seconds);
  const lat = new Float64Array(total);
  const interval = 1000 / rate;
  let sent = 0;
  let done = 0;
  let errors = 0;
  const t0 = performance.now() + 5;
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && t0 + sent * interval <= now) {
        const i = sent++;
        const scheduled = t0 + i * interval;
        call().then(
          () => {
            lat[i] = performance.now() - scheduled;
            if (++done === total) resolve();
          },
          (err) => {
            lat[i] = NaN;
            errors++;
            noteError(name, err);
            if (++done === total) resolve();
          },
        );
      }
      if (sent < total) setImmediate(tick);
    };
    tick();
  });
  const ok = Array.from(lat)
    .filter((x) => !Number.isNaN(x))
    .sort((a, b) => a - b);
  const q = (p) => quantile(ok, p) * 1000; // µs
  const overloaded = performance.now() - t0 > seconds * 1000 * 1.1;
  return { p50: q(0.5), p99: q(0.99), p999: q(0.999), errors, overloaded };
}

/** The HTTP/1.1 table: every target, both rates. */
async function runHttp(pki) {
  const upstream = await startRole("upstream");
  const targets = [{ name: "direct", port: upstream.port, pids: upstream.pids }];
  if (NGINX) targets.push({ name: "nginx", ...(await startNginx(upstream.port)) });
  const np = await startRole("node-proxy", upstream.port);
  targets.push({ name: "node:http+Agent", port: np.port, pids: np.pids });
  const tr = await startRole("trellis", upstream.port);
  targets.push({ name: "trellis", port: tr.port, pids: tr.pids });
  const sin = await startRole("sidecar-in", upstream.port, pki);
  const sout = await startRole("sidecar-out", sin.port, pki);
  targets.push({ name: "mesh (2 sidecars, mTLS)", port: sout.port, pids: [...sout.pids, ...sin.pids] });

  for (const t of targets) t.call = httpCall(t.port);
  const results = new Map(targets.map((t) => [t.name, []]));
  for (const t of targets) {
    // Warm up: connections, JIT.
    await saturate(t.call, t.pids, 1);
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Interleave: every target gets each measurement in the same round, in a rotating order.
    const order = targets.map((_, i) => targets[(i + round) % targets.length]);
    for (const t of order) {
      const sat = await saturate(t.call, t.pids, SAT_SECONDS);
      const rates = {};
      for (const rate of RATES) rates[rate] = await openLoop(t.call, rate, RATE_SECONDS);
      results.get(t.name).push({ sat, rates });
      process.stderr.write(
        `round ${round + 1}/${ROUNDS} ${t.name}: ${Math.round(sat.rps)} req/s, ${sat.cpuUsPerReq.toFixed(1)} µs CPU/req, p50@1k ${rates[1000].p50.toFixed(0)} µs\n`,
      );
    }
  }

  const direct = results.get("direct");
  const directP50 = median(direct.map((r) => r.rates[1000].p50));
  const directP50at5k = median(direct.map((r) => r.rates[5000].p50));
  const rows = [];
  for (const t of targets) {
    const rs = results.get(t.name);
    const m = (f) => median(rs.map(f));
    const cpu = t.name === "direct" ? NaN : m((r) => r.sat.cpuUsPerReq);
    rows.push({
      target: t.name,
      "CPU µs/req (proxy)": t.name === "direct" ? "—" : cpu.toFixed(1),
      "max req/s": Math.round(m((r) => r.sat.rps)),
      "p50/p99/p99.9 µs @1k": `${m((r) => r.rates[1000].p50).toFixed(0)} / ${m((r) => r.rates[1000].p99).toFixed(0)} / ${m((r) => r.rates[1000].p999).toFixed(0)}`,
      "p50/p99/p99.9 µs @5k": `${m((r) => r.rates[5000].p50).toFixed(0)} / ${m((r) => r.rates[5000].p99).toFixed(0)} / ${m((r) => r.rates[5000].p999).toFixed(0)}`,
      "added p50 µs @1k": t.name === "direct" ? "—" : (m((r) => r.rates[1000].p50) - directP50).toFixed(0),
      "added p50 µs @5k":
        t.name === "direct" ? "—" : (m((r) => r.rates[5000].p50) - directP50at5k).toFixed(0),
      "peak RSS MB": t.name === "direct" ? "—" : peakRssMb(t.pids).toFixed(1),
      errors: rs.reduce((a, r) => a + r.sat.errors + r.rates[1000].errors + r.rates[5000].errors, 0),
    });
  }
  console.log(
    `\nTrellis data-plane benchmark — node ${process.version}, ${ROUNDS} rounds (median), saturation ${SAT_SECONDS}s @ ${CONCURRENCY} conns, open loop ${RATE_SECONDS}s per rate`,
  );
  console.log(
    `load generator on CPU 0; proxies + upstream on CPU 1; mesh CPU and RSS are both sidecars (RSS: the larger)\n`,
  );
  console.log(markdownTable(rows));
  for (const p of pools.values()) await p.close();
}

/** The gRPC table: direct, quick mode and mesh; unary and server stream; saturation and one fixed rate. */
async function runGrpc(pki) {
  const { grpc, loadTestService, unaryCall, streamCall, UNARY_BYTES, STREAM_MESSAGES, STREAM_MESSAGE_BYTES } =
    await import("./grpc.mjs");
  const TestService = loadTestService();
  const up = await startRole("grpc-upstream");
  const nh2 = await startRole("node-h2-proxy", up.port);
  const quick = await startRole("quick", up.port, "h2c");
  const gin = await startRole("sidecar-in", up.port, pki, "h2c");
  const gout = await startRole("sidecar-out", gin.port, pki);
  const targets = [
    { name: "direct", port: up.port, pids: [] },
    { name: "node:http2 proxy", port: nh2.port, pids: nh2.pids },
    { name: "trellis quick (h2c)", port: quick.port, pids: quick.pids },
    { name: "mesh (2 sidecars, mTLS)", port: gout.port, pids: [...gout.pids, ...gin.pids] },
  ];
  const clients = [];
  const cases = [];
  for (const t of targets) {
    // One channel per target, not shared with the others' (grpc-js pools subchannels globally by default).
    const client = new TestService(`127.0.0.1:${t.port}`, grpc.credentials.createInsecure(), {
      "grpc.use_local_subchannel_pool": 1,
    });
    clients.push(client);
    cases.push({ ...t, kind: "unary", call: unaryCall(client) });
    cases.push({ ...t, kind: "stream", call: streamCall(client) });
  }
  const key = (c) => `${c.name}|${c.kind}`;
  const opts = (c) => ({ concurrency: GRPC_CONCURRENCY, upPids: up.pids, name: key(c) });
  const results = new Map(cases.map((c) => [key(c), []]));
  for (const c of cases) await saturate(c.call, c.pids, 1, opts(c)); // warm up: channels, sessions, JIT
  for (let round = 0; round < ROUNDS; round++) {
    const order = cases.map((_, i) => cases[(i + round) % cases.length]);
    for (const c of order) {
      const sat = await saturate(c.call, c.pids, SAT_SECONDS, opts(c));
      const rate = await openLoop(c.call, GRPC_RATE, RATE_SECONDS, key(c));
      results.get(key(c)).push({ sat, rate });
      const rss = c.pids.map((pid) => rssMb(pid).toFixed(0)).join("+");
      process.stderr.write(
        `grpc round ${round + 1}/${ROUNDS} ${c.name} ${c.kind}: ${Math.round(sat.rps)} calls/s, ${sat.cpuUsPerReq.toFixed(1)} µs CPU/call (upstream ${sat.upUsPerReq.toFixed(1)}), generator ${sat.genCpuPct.toFixed(0)} % CPU, p50@${GRPC_RATE} ${rate.p50.toFixed(0)} µs${rate.overloaded ? " (overloaded)" : ""}${rss ? `, RSS now ${rss} MB` : ""}\n`,
      );
    }
  }

  const rows = [];
  for (const kind of ["unary", "stream"]) {
    const directP50 = median(results.get(`direct|${kind}`).map((r) => r.rate.p50));
    for (const t of targets) {
      const rs = results.get(`${t.name}|${kind}`);
      const m = (f) => median(rs.map(f));
      const isDirect = t.name === "direct";
      const over = rs.filter((r) => r.rate.overloaded).length > rs.length / 2;
      rows.push({
        target: t.name,
        call:
          kind === "unary"
            ? `unary ${UNARY_BYTES} B`
            : `stream ${STREAM_MESSAGES}×${STREAM_MESSAGE_BYTES / 1024} KiB`,
        "CPU µs/call (proxy)": isDirect ? "—" : m((r) => r.sat.cpuUsPerReq).toFixed(1),
        "CPU µs/call (upstream)": m((r) => r.sat.upUsPerReq).toFixed(1),
        "max calls/s": Math.round(m((r) => r.sat.rps)),
        "load gen CPU %": Math.round(m((r) => r.sat.genCpuPct)),
        [`p50/p99 µs @${GRPC_RATE}/s`]: `${m((r) => r.rate.p50).toFixed(0)} / ${m((r) => r.rate.p99).toFixed(0)}${over ? " overloaded" : ""}`,
        [`added p50 µs @${GRPC_RATE}/s`]: isDirect ? "—" : (m((r) => r.rate.p50) - directP50).toFixed(0),
        "peak RSS MB": isDirect ? "—" : peakRssMb(t.pids).toFixed(1),
        errors: rs.reduce((a, r) => a + r.sat.errors + r.rate.errors, 0),
      });
    }
  }
  console.log(
    `\nTrellis data-plane benchmark, gRPC (grpc-js ${grpcJsVersion()}) — node ${process.version}, ${ROUNDS} rounds (median), saturation ${SAT_SECONDS}s @ ${GRPC_CONCURRENCY} calls in flight on one channel, open loop ${RATE_SECONDS}s @ ${GRPC_RATE} calls/s`,
  );
  console.log(
    `load generator on CPU 0; proxies + upstream on CPU 1; mesh CPU and RSS are both sidecars (RSS: the larger); a stream call is the whole stream\n`,
  );
  console.log(markdownTable(rows));
  for (const c of clients) c.close();
}

function grpcJsVersion() {
  try {
    const p = join(HERE, "../../../node_modules/@grpc/grpc-js/package.json");
    return JSON.parse(readFileSync(p, "utf8")).version;
  } catch {
    return "?";
  }
}

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}

/** Stops the processes a part started, so the next part has CPU 1 to itself. */
async function stopChildren() {
  for (const c of children) c.kill(c.nginx ? "SIGTERM" : "SIGKILL");
  children = [];
  await new Promise((r) => setTimeout(r, 300));
}

async function runTracing(pki) {
  const upstream = await startRole("upstream");
  // The collector on the generator's CPU: its work is not the sidecars', and must not take CPU 1 from them.
  const collector = await startRoleWith({ cpu: "0" }, "collector");
  const targets = [];
  for (const [name, percent] of [
    ["tracing off", undefined],
    ["1 % sampled", 1],
    ["100 % sampled", 100],
  ]) {
    const env =
      percent === undefined
        ? {}
        : { BENCH_TRACING_PERCENT: String(percent), BENCH_TRACING_PORT: String(collector.port) };
    const sin = await startRoleWith({ env }, "sidecar-in", upstream.port, pki);
    const sout = await startRoleWith({ env }, "sidecar-out", sin.port, pki);
    targets.push({ name, port: sout.port, pids: [...sout.pids, ...sin.pids], call: httpCall(sout.port) });
  }
  const results = new Map(targets.map((t) => [t.name, []]));
  for (const t of targets) await saturate(t.call, t.pids, 1);
  for (let round = 0; round < ROUNDS; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]);
    for (const t of order) {
      const sat = await saturate(t.call, t.pids, SAT_SECONDS);
      const rate = await openLoop(t.call, 1000, RATE_SECONDS);
      results.get(t.name).push({ sat, rate });
      process.stderr.write(
        `tracing round ${round + 1}/${ROUNDS} ${t.name}: ${Math.round(sat.rps)} req/s, ${sat.cpuUsPerReq.toFixed(1)} µs CPU/req, p50@1k ${rate.p50.toFixed(0)} µs\n`,
      );
    }
  }
  const stats = await (await fetch(`http://127.0.0.1:${collector.port}/stats`)).json();
  const off = results.get("tracing off");
  const offCpu = median(off.map((r) => r.sat.cpuUsPerReq));
  const offRss = peakRssMb(targets[0].pids);
  const rows = targets.map((t) => {
    const rs = results.get(t.name);
    const m = (f) => median(rs.map(f));
    const cpu = m((r) => r.sat.cpuUsPerReq);
    const rss = peakRssMb(t.pids);
    return {
      sidecars: t.name,
      "CPU µs/req": cpu.toFixed(1),
      "CPU vs off": `${(cpu / offCpu).toFixed(2)}×`,
      "max req/s": Math.round(m((r) => r.sat.rps)),
      "p50/p99 µs @1k": `${m((r) => r.rate.p50).toFixed(0)} / ${m((r) => r.rate.p99).toFixed(0)}`,
      "peak RSS MB": rss.toFixed(1),
      "RSS vs off": `${(rss / offRss).toFixed(2)}×`,
      errors: rs.reduce((a, r) => a + r.sat.errors + r.rate.errors, 0),
    };
  });
  console.log(
    `\nTracing in the mesh path (2 sidecars, mTLS) — ${ROUNDS} rounds (median), saturation ${SAT_SECONDS}s @ ${CONCURRENCY} conns, open loop ${RATE_SECONDS}s @ 1k req/s`,
  );
  console.log(
    `spans exported over OTLP/HTTP to a collector on CPU 0 that reads and drops them: ${stats.requests} batches, ${(stats.bytes / 1e6).toFixed(1)} MB in all\n`,
  );
  console.log(markdownTable(rows));
  for (const p of pools.values()) await p.close();
  pools.clear();
}

async function main() {
  const pki = makePki();
  const pressureAtStart = cpuPressure();
  if (ONLY === "tracing") {
    await runTracing(pki);
    await stopChildren();
    console.log(`\nCPU pressure (/proc/pressure/cpu) at start: ${pressureAtStart}; at end: ${cpuPressure()}`);
    process.exit(0);
  }
  if (ONLY !== "grpc") {
    await runHttp(pki);
    await stopChildren();
  }
  if (ONLY !== "http") {
    await runGrpc(pki);
    await stopChildren();
  }
  if (errorKinds.size > 0) {
    console.log("\nerrors by kind:");
    for (const [k, n] of errorKinds) console.log(`  ${n} × ${k}`);
  }
  console.log(`\nCPU pressure (/proc/pressure/cpu) at start: ${pressureAtStart}; at end: ${cpuPressure()}`);
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
