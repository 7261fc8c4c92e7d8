// The capture benchmark's load generator (bench/capture.mjs), run in the client pod as the pod's app: it knows
// nothing of the mesh but the three ways it is told to call the server. `node capture-client.mjs <paths.json>`;
// prints `ready`, then answers one JSON line on stdout per JSON line on stdin, one command at a time:
//   {"op":"latency","path":P,"n":N}            N requests one after the other (one in flight): p50/p99 in µs
//   {"op":"load","path":P,"seconds":S,"concurrency":C}  C in flight for S seconds: requests/s
//   {"op":"probe","path":P}                    one request: its status, or the error
//   {"op":"get","url":U}                       a GET on the pod's loopback (its sidecar's admin port): the body
//   {"op":"totals"}                            every 200 per path since the start, and which peer each path's
//                                              connections had (a captured connection's is the VIP it dialled)
// A path is {host, port, headers?}: one keep-alive agent per path, so each keeps its own connections.
import http from "node:http";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

const REQUEST_TIMEOUT_MS = 10_000;
const paths = JSON.parse(readFileSync(process.argv[2], "utf8"));
const targets = new Map();
for (const [name, p] of Object.entries(paths)) {
  targets.set(name, {
    // Made once per path, not per request: http.request copies what it needs.
    options: {
      host: p.host,
      port: p.port,
      path: "/",
      method: "GET",
      headers: p.headers ?? {},
      agent: new http.Agent({ keepAlive: true, maxSockets: 256, scheduling: "lifo" }),
    },
    ok: 0,
    peers: new Map(),
  });
}

/** One request; resolves with the status, rejects on a network error or timeout. */
function request(target) {
  return new Promise((resolve, reject) => {
    const req = http.request(target.options, (res) => {
      const peer = res.socket.remoteAddress;
      target.peers.set(peer, (target.peers.get(peer) ?? 0) + 1);
      res.on("error", reject);
      res.on("end", () => {
        if (res.statusCode === 200) target.ok++;
        resolve(res.statusCode);
      });
      res.resume();
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** Why calls failed, by message: errors must not hide behind a count. */
function noteError(kinds, e) {
  const key = typeof e === "number" ? `HTTP ${e}` : `${e.code ?? ""} ${e.message}`.trim().slice(0, 160);
  kinds[key] = (kinds[key] ?? 0) + 1;
}

async function latency(target, n) {
  const lat = new Float64Array(n);
  const errorKinds = {};
  let errors = 0;
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    try {
      const status = await request(target);
      if (status !== 200) throw status;
      lat[ok++] = (performance.now() - t0) * 1000; // µs
    } catch (e) {
      errors++;
      noteError(errorKinds, e);
    }
  }
  const sorted = lat.subarray(0, ok).sort();
  const q = (p) => (ok === 0 ? NaN : sorted[Math.min(ok - 1, Math.floor(p * ok))]);
  return { n: ok, errors, errorKinds, p50: q(0.5), p99: q(0.99) };
}

async function load(target, seconds, concurrency) {
  const errorKinds = {};
  let errors = 0;
  let n = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        try {
          const status = await request(target);
          if (status !== 200) throw status;
          n++;
        } catch (e) {
          errors++;
          noteError(errorKinds, e);
        }
      }
    }),
  );
  return { n, errors, errorKinds, rps: n / ((performance.now() - t0) / 1000) };
}

async function run(cmd) {
  if (cmd.op === "get") {
    const res = await fetch(cmd.url);
    return { status: res.status, body: await res.text() };
  }
  if (cmd.op === "totals") {
    return Object.fromEntries(
      [...targets].map(([name, t]) => [name, { ok: t.ok, peers: Object.fromEntries(t.peers) }]),
    );
  }
  const target = targets.get(cmd.path);
  if (target === undefined) throw new Error(`no path ${cmd.path}`);
  if (cmd.op === "latency") return latency(target, cmd.n);
  if (cmd.op === "load") return load(target, cmd.seconds, cmd.concurrency);
  if (cmd.op === "probe") {
    try {
      return { status: await request(target) };
    } catch (e) {
      return { error: `${e.code ?? ""} ${e.message}`.trim() };
    }
  }
  throw new Error(`unknown op ${cmd.op}`);
}

// One command at a time, in order: the benchmark reads the processes' CPU time around each.
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on("line", (line) => {
  queue = queue.then(async () => {
    let out;
    try {
      out = { ok: true, result: await run(JSON.parse(line)) };
    } catch (e) {
      out = { ok: false, error: e.message };
    }
    process.stdout.write(`${JSON.stringify(out)}\n`);
  });
});
process.stdin.on("end", () => queue.then(() => process.exit(0)));
console.log("ready");
