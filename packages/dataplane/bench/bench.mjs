// Trellis data-plane benchmark. One run prints, for the same load against
//   direct upstream | nginx reverse proxy | node:http + Agent proxy | trellis proxy | two sidecars over mTLS:
// CPU per request at saturation (from the proxies' /proc/PID/stat), max req/s, open-loop latency percentiles at
// fixed rates (latency measured from each request's *scheduled* send time), added p50 over direct, peak RSS.
// The load generator is pinned to CPU 0, proxies and upstream to CPU 1. Targets are interleaved and each number
// is the median of ROUNDS rounds. Traffic goes to 127.0.0.1 only; run time is bounded (~3-4 minutes).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SAT_SECONDS = Number(process.env.BENCH_SAT_SECONDS ?? 3);
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 3);
const RATES = [1000, 5000];
const CONCURRENCY = 32;
const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
const NGINX = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => existsSync(p));

const children = [];
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
  return new Promise((resolve, reject) => {
    const child = spawn(
      "taskset",
      ["-c", "1", process.execPath, join(HERE, "servers.mjs"), role, ...args.map(String)],
      { stdio: ["ignore", "pipe", "inherit"] },
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
    } catch {}
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
    } catch {}
  }
  return out;
}

function cpuTicks(pids) {
  let t = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    t += Number(f[11]) + Number(f[12]); // utime + stime
  }
  return t;
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

/** Closed loop at CONCURRENCY for `seconds`: max req/s and CPU per request of the measured processes. */
async function saturate(port, pids, seconds) {
  const pool = poolFor(port);
  let n = 0;
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const c0 = cpuTicks(pids);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        try {
          await once(pool);
          n++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const cpuSec = (cpuTicks(pids) - c0) / CLK_TCK;
  return { rps: n / secs, cpuUsPerReq: (cpuSec * 1e6) / n, errors };
}

/** Open loop at `rate` req/s: each request has a scheduled time; latency counts from it, so queueing shows. */
async function openLoop(port, rate, seconds) {
  const pool = poolFor(port);
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
        once(pool).then(
          () => {
            lat[i] = performance.now() - scheduled;
            if (++done === total) resolve();
          },
          () => {
            lat[i] = NaN;
            errors++;
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
  const q = (p) => ok[Math.min(ok.length - 1, Math.floor(p * ok.length))] * 1000; // µs
  return { p50: q(0.5), p99: q(0.99), p999: q(0.999), errors };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function main() {
  const pki = mkdtempSync(join(tmpdir(), "trellis-bench-pki-"));
  const ossl = (...a) => execFileSync("openssl", a, { cwd: pki, stdio: "ignore" });
  ossl(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "1",
    "-subj",
    "/CN=bench-ca",
  );
  for (const name of ["client", "upstream"]) {
    writeFileSync(
      join(pki, `${name}.ext`),
      `subjectAltName=URI:spiffe://bench.local/ns/bench/sa/${name}\nextendedKeyUsage=serverAuth,clientAuth\n`,
    );
    ossl(
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    );
    ossl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "1",
      "-extfile",
      `${name}.ext`,
    );
  }

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

  const results = new Map(targets.map((t) => [t.name, []]));
  for (const t of targets) {
    // Warm up: connections, JIT.
    await saturate(t.port, t.pids, 1);
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Interleave: every target gets each measurement in the same round, in a rotating order.
    const order = targets.map((_, i) => targets[(i + round) % targets.length]);
    for (const t of order) {
      const sat = await saturate(t.port, t.pids, SAT_SECONDS);
      const rates = {};
      for (const rate of RATES) rates[rate] = await openLoop(t.port, rate, RATE_SECONDS);
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
  const cols = Object.keys(rows[0]);
  console.log(
    `\nTrellis data-plane benchmark — node ${process.version}, ${ROUNDS} rounds (median), saturation ${SAT_SECONDS}s @ ${CONCURRENCY} conns, open loop ${RATE_SECONDS}s per rate`,
  );
  console.log(
    `load generator on CPU 0; proxies + upstream on CPU 1; mesh CPU and RSS are both sidecars (RSS: the larger)\n`,
  );
  console.log(`| ${cols.join(" | ")} |`);
  console.log(`|${cols.map(() => "---").join("|")}|`);
  for (const r of rows) console.log(`| ${cols.map((c) => r[c]).join(" | ")} |`);
  for (const p of pools.values()) await p.close();
  for (const c of children) c.kill(c.nginx ? "SIGTERM" : "SIGKILL");
  await new Promise((r) => setTimeout(r, 300));
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
