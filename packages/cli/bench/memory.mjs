// The sidecar's memory (issue 19; docs/decisions/018-sidecar-memory.md): the RSS of `trellis proxy` as users
// start it, idle with 0, 1, 100 and 1,000 idle keep-alive connections (each has carried one request and stays
// open), then its peak under a short closed-loop load and its RSS idle again after it, beside the floor: an
// empty Node process with the same listeners, answering every request itself (no proxying, no library).
//
//   floor     node: two node:http listeners (traffic and admin), 200 "hello" to everything, with the proxy's V8
//             flags (PROXY_V8_FLAGS); the TLS floor's traffic listener is node:https with client certificates
//   quick     trellis proxy --listen … --to <upstream>            plain HTTP/1.1 in, plain HTTP/1.1 out
//   sidecar   trellis proxy --config <file>: the inbound listener of a mesh sidecar, mTLS (strict) in, the app
//             (the upstream) behind it; the connections come with a workload certificate, as a peer sidecar's
//
// RSS is VmRSS (what `ps` and most dashboards show): it includes the node binary's pages (~35–40 MB, shared by
// every Node process on the machine through the page cache). "own" is the process's anonymous memory
// (smaps_rollup Anonymous: heap, stacks, malloc), what each additional sidecar costs on a machine. The upstream
// and the load generator run in this process's children, the proxy pinned to CPU 1 and the generator to CPU 0
// as in the data plane's bench.mjs. CPU µs/req under load is printed for orientation only (bench.mjs measures
// CPU; this load is short and unwarmed).
//
// Env: BENCH_LOAD_SECONDS (5), BENCH_CONNECTIONS (1,100,1000), BENCH_IDLE_MS (10000: how long idle is left to
// settle), BENCH_TRELLIS (the trellis executable: another
// checkout's packages/cli/bin/trellis.js, to compare; TRELLIS_PROXY_UNBUNDLED=1 runs `trellis proxy` from dist/'s
// modules instead of its bundle, dist/proxy.bundle.js), BENCH_NODE_FLAGS (node flags for floor and proxies),
// BENCH_JSON=<file> (the rows as JSON too, for the test).
import { spawn, execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { cpuPressure, cpuSeconds, freePorts, markdownTable, TestPki } from "@trellis/dataplane/testing";
import { PROXY_V8_FLAGS } from "@trellis/dataplane/v8-tuning";

const TRELLIS = process.env.BENCH_TRELLIS ?? fileURLToPath(new URL("../bin/trellis.js", import.meta.url));
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 5);
const STEPS = (process.env.BENCH_CONNECTIONS ?? "1,100,1000").split(",").map(Number);
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter(Boolean);
const CONCURRENCY = 32;
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 10_000);

const children = [];
process.on("exit", () => children.forEach((c) => c.kill("SIGKILL")));
process.on("SIGINT", () => process.exit(130));
try {
  execFileSync("taskset", ["-cp", "0", String(process.pid)], { stdio: "ignore" });
} catch {
  console.error("warning: taskset failed; results are not pinned");
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const statusMb = (pid, key) =>
  Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
const anonMb = (pid) =>
  Number(/Anonymous:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))[1]) / 1024;

/** Starts `args` on CPU 1; resolves once `ready(stderr+stdout so far)` is true. */
function start(args, ready) {
  return new Promise((resolve, reject) => {
    const child = spawn("taskset", ["-c", "1", process.execPath, ...NODE_FLAGS, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let out = "";
    const check = (d) => {
      out += d;
      if (ready(out)) resolve(child);
    };
    child.stdout.on("data", check);
    child.stderr.on("data", check);
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}:\n${out}`)));
  });
}

// The floors: only listeners (traffic and admin), answering themselves, with the proxy's V8 flags: argv is
// [flags (JSON), port, admin port, TLS directory (mTLS like the sidecar's inbound) or ""].
const FLOOR = `
const [flags, port, admin, tlsDir] = process.argv.slice(1);
for (const f of JSON.parse(flags)) require("node:v8").setFlagsFromString(f);
const http = require("node:http");
const body = Buffer.from("hello from upstream\\n");
const answer = (q, r) => { r.writeHead(200, { "content-length": body.length }); r.end(body); };
const read = (f) => require("node:fs").readFileSync(require("node:path").join(tlsDir, f));
const server = tlsDir
  ? require("node:https").createServer({ cert: read("side.crt"), key: read("side.key"), ca: read("ca.crt"),
      requestCert: true, rejectUnauthorized: true, ALPNProtocols: ["http/1.1"], keepAliveTimeout: 600000 }, answer)
  : http.createServer({ keepAliveTimeout: 600000 }, answer);
server.listen(Number(port), "127.0.0.1", () =>
  http.createServer(answer).listen(Number(admin), "127.0.0.1", () => console.log("READY")));
`;

/** A plain HTTP/1.1 connection that has carried one request and stays open. */
function plainConnection(port) {
  return oneRequest(net.connect(port, "127.0.0.1"));
}

function oneRequest(socket) {
  return new Promise((resolve, reject) => {
    let got = "";
    socket.setEncoding("latin1");
    socket.on("data", (d) => {
      got += d;
      if (got.includes("hello from upstream")) {
        socket.removeAllListeners("data");
        socket.on("data", () => {});
        resolve(socket);
      }
    });
    socket.once("error", reject);
    socket.write("GET /idle HTTP/1.1\r\nhost: upstream\r\n\r\n");
  });
}

async function measure(target) {
  const pid = target.child.pid;
  const row = { target: target.name };
  // V8's memory reducer collects ~8 s after allocation slows down: idle is read after it.
  await sleep(IDLE_MS);
  row["idle MB"] = statusMb(pid, "VmRSS").toFixed(1);
  const own0 = anonMb(pid);
  const sockets = [];
  const at = new Map();
  for (const n of STEPS) {
    while (sockets.length < n) {
      const batch = [];
      for (let i = 0; i < Math.min(50, n - sockets.length); i++) batch.push(target.connect());
      sockets.push(...(await Promise.all(batch)));
    }
    await sleep(3000);
    const rss = statusMb(pid, "VmRSS");
    at.set(n, rss);
    row[`${n.toLocaleString("en")} conn${n === 1 ? "" : "s"} MB`] = rss.toFixed(1);
  }
  // Per connection between the last two steps: the first connections also pay for code compiled on first use.
  const [a, b] = STEPS.slice(-2);
  row["KB / idle conn"] = (((at.get(b) - at.get(a)) * 1024) / (b - a)).toFixed(1);
  for (const s of sockets) s.destroy();
  await sleep(1000);
  // Load: CONCURRENCY connections, closed loop.
  const agent = target.tlsOptions
    ? new https.Agent({ keepAlive: true, maxSockets: CONCURRENCY, ...target.tlsOptions })
    : new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const get = target.tlsOptions ? https.get : http.get;
  const call = () =>
    new Promise((resolve, reject) => {
      const req = get(`${target.url}/load`, { agent, headers: { host: "upstream" } }, (res) => {
        res.resume();
        res.once("end", () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`)),
        );
      });
      req.once("error", reject);
    });
  const c0 = cpuSeconds([pid]);
  let n = 0;
  const end = performance.now() + LOAD_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        await call();
        n++;
      }
    }),
  );
  const cpu = cpuSeconds([pid]) - c0;
  const ownPeak = anonMb(pid);
  agent.destroy();
  row["peak MB (run)"] = statusMb(pid, "VmHWM").toFixed(1);
  await sleep(IDLE_MS);
  row["idle after load MB"] = statusMb(pid, "VmRSS").toFixed(1);
  row["own MB idle / load"] = `${own0.toFixed(1)} / ${ownPeak.toFixed(1)}`;
  row["req/s, CPU µs/req"] = `${Math.round(n / LOAD_SECONDS)}, ${((cpu * 1e6) / n).toFixed(0)}`;
  return row;
}

const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

async function main() {
  const pressureAtStart = cpuPressure();
  const loadAtStart = loadAverage();
  const [
    upPort,
    floorPort,
    floorAdmin,
    tlsFloorPort,
    tlsFloorAdmin,
    quickPort,
    quickAdmin,
    inPort,
    outPort,
    sideAdmin,
  ] = await freePorts(10);
  const flags = JSON.stringify(PROXY_V8_FLAGS);
  // The upstream (the app): in this process's own child on CPU 0, not the proxy's CPU.
  const up = spawn("taskset", ["-c", "0", process.execPath, "-e", FLOOR, "[]", String(upPort), "0", ""], {
    stdio: "ignore",
  });
  children.push(up);
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    if (
      await fetch(`http://127.0.0.1:${upPort}/`).then(
        (r) => r.text(),
        () => "",
      )
    )
      break;
  }

  const pki = new TestPki("bench-memory-ca");
  const side = pki.issue("bench.local", "bench", "upstream");
  const peer = pki.issue("bench.local", "bench", "client");
  writeFileSync(join(pki.dir, "side.crt"), side.certPem);
  writeFileSync(join(pki.dir, "side.key"), side.keyPem);
  const config = join(pki.dir, "sidecar.json");
  writeFileSync(
    config,
    JSON.stringify({
      version: "bench",
      identity: { namespace: "bench", service: "upstream", version: "v1", trustDomain: "bench.local" },
      tls: {
        certFile: join(pki.dir, "side.crt"),
        keyFile: join(pki.dir, "side.key"),
        caFile: join(pki.dir, "ca.crt"),
      },
      inbound: { appPort: upPort, mtlsMode: "strict" },
    }),
  );
  const tlsOptions = {
    cert: peer.certPem,
    key: peer.keyPem,
    ca: pki.caPem,
    ALPNProtocols: ["http/1.1"],
    // The sidecar's certificate names a SPIFFE ID, not a host name.
    checkServerIdentity: () => undefined,
  };
  const proxyReady = (out) => /in force/.test(out);

  const targets = [
    {
      name: "floor: node:http listeners only",
      child: await start(["-e", FLOOR, flags, String(floorPort), String(floorAdmin), ""], (o) =>
        o.includes("READY"),
      ),
      connect: () => plainConnection(floorPort),
      url: `http://127.0.0.1:${floorPort}`,
    },
    {
      name: "trellis proxy (quick mode)",
      child: await start(
        [
          TRELLIS,
          "proxy",
          "--listen",
          `127.0.0.1:${quickPort}`,
          "--to",
          `127.0.0.1:${upPort}`,
          "--admin-port",
          String(quickAdmin),
        ],
        proxyReady,
      ),
      connect: () => plainConnection(quickPort),
      url: `http://127.0.0.1:${quickPort}`,
    },
    {
      name: "floor: node:https (mTLS) listener only",
      child: await start(["-e", FLOOR, flags, String(tlsFloorPort), String(tlsFloorAdmin), pki.dir], (o) =>
        o.includes("READY"),
      ),
      connect: () => oneRequest(tls.connect({ host: "127.0.0.1", port: tlsFloorPort, ...tlsOptions })),
      url: `https://127.0.0.1:${tlsFloorPort}`,
      tlsOptions,
    },
    {
      name: "trellis proxy (sidecar, mTLS in)",
      child: await start(
        [
          TRELLIS,
          "proxy",
          "--config",
          config,
          "--inbound-port",
          String(inPort),
          "--outbound-port",
          String(outPort),
          "--admin-port",
          String(sideAdmin),
        ],
        proxyReady,
      ),
      connect: () => oneRequest(tls.connect({ host: "127.0.0.1", port: inPort, ...tlsOptions })),
      url: `https://127.0.0.1:${inPort}`,
      tlsOptions,
    },
  ];
  const rows = [];
  for (const t of targets) {
    rows.push(await measure(t));
    process.stderr.write(`${t.name}: ${JSON.stringify(rows[rows.length - 1])}\n`);
    t.child.kill("SIGKILL");
  }
  console.log(
    `\ntrellis proxy memory — node ${process.version}, ${TRELLIS}${process.env.TRELLIS_PROXY_UNBUNDLED === "1" ? " (unbundled)" : ""}${NODE_FLAGS.length ? ` (node ${NODE_FLAGS.join(" ")})` : ""}; idle connections each carried one request; load ${LOAD_SECONDS}s closed loop @ ${CONCURRENCY} conns\n`,
  );
  console.log(markdownTable(rows));
  if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify(rows));
  console.log(`\nCPU pressure (/proc/pressure/cpu) at start: ${pressureAtStart}; at end: ${cpuPressure()}`);
  console.log(`load average at start: ${loadAtStart}; at end: ${loadAverage()}`);
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
