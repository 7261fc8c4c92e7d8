// Benchmark child: N light proxies speaking the real protocol (join token, pinned CA, CSR, hello, ACK), as
// cheap as possible so the fleet does not bottleneck the measurement: messages are not parsed as a whole;
// the version and nonce are read from the message's head and the change is found by a byte search.
//
// A proxy whose stream closes or fails before its first config makes the join fail with the reason (the
// parent prints it and exits non-zero): waiting for a config that can no longer come is how the harness
// used to hang. With `reconnect`, a proxy whose stream closes afterwards joins again as the sidecar does
// (docs/decisions/015): within a random 500 ms, then with exponential backoff and full jitter (500 ms base,
// 30 s cap) while refused, saying its workload id and the version it serves.
import WebSocket from "ws";
import { fetchPinnedCa, generateKeyAndCsr } from "@trellis/dataplane/mesh";

const { url, token, n, services, features, reachable, reconnect } = JSON.parse(process.argv[2]);
const caPem = await fetchPinnedCa(url, token);
const { csrPem } = await generateKeyAndCsr(); // one key for all: the CA signs each request anyway
const MARK = Buffer.from(process.env.BENCH_MARK ?? '"accessLog":true');
const HEAD = /^\{"type":"(?:config|delta)","version":"([^"]+)","nonce":"([^"]+)"/;
const WELCOME = /^\{"type":"welcome","workloadId":"([^"]+)"/;

const proxies = [];
let changeAt = 0;
let seen = [];
let waitingForChange = null;
let bytesReceived = 0;
/** A restart being measured: when it began, and each proxy's time to its new welcome. */
let restart = null;
let stopping = false;

function node(i) {
  const svc = `svc-${i % services}`;
  // Scoped: each service calls the next `reachable` ones (as real services call a handful of others).
  const calls = reachable
    ? Array.from({ length: Math.min(reachable, services - 1) }, (_, k) => `svc-${(i + k + 1) % services}`)
    : null;
  return {
    namespace: "bench",
    service: svc,
    version: `v${i % 2}`,
    address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:15006`,
    labels: {},
    ...(calls ? { reachableServices: calls } : {}),
  };
}

/** Opens proxy `p`'s stream; `first` settles with its first config (or the reason there was none). */
function open(p, first) {
  const ws = new WebSocket(`${url}/v1/stream`, {
    ca: caPem,
    headers: { authorization: `Bearer ${token}` },
    perMessageDeflate: false,
    // BENCH_HANDSHAKE_TIMEOUT_MS: at 5,000 proxies without declared scope the control plane can be busy
    // pushing endpoints to thousands of streams for longer than 30 s (a failed run at 4,383, decision 019).
    handshakeTimeout: Number(process.env.BENCH_HANDSHAKE_TIMEOUT_MS ?? 30_000),
  });
  p.ws = ws;
  let welcomed = false;
  ws.on("open", () => {
    ws.send(
      JSON.stringify({
        type: "hello",
        node: p.node,
        csr: csrPem,
        ...(p.workloadId ? { workloadId: p.workloadId } : {}),
        ...(p.version ? { appliedVersion: p.version } : {}),
        features,
      }),
    );
  });
  ws.on("message", (data) => {
    bytesReceived += data.length;
    const start = data.toString("latin1", 0, 200);
    const head = HEAD.exec(start);
    if (!head) {
      const welcome = WELCOME.exec(start);
      if (welcome) {
        welcomed = true;
        p.workloadId = welcome[1];
        p.failures = 0;
        if (restart && !p.rejoined) {
          p.rejoined = true;
          restart.latencies.push(Date.now() - restart.at);
          if (restart.latencies.length === n) restart.done();
        }
      } else if (start.startsWith('{"type":"error"')) first?.reject(new Error(data.toString()));
      return;
    }
    ws.send(`{"type":"ack","version":"${head[1]}","nonce":"${head[2]}"}`);
    p.version = head[1];
    if (restart) restart.configs++;
    if (first && !p.first) {
      p.first = true;
      first.resolve();
    }
    if (changeAt && !p.changed && data.indexOf(MARK) !== -1) {
      p.changed = true;
      seen.push(Date.now() - changeAt);
      if (seen.length === n) waitingForChange?.();
    }
  });
  ws.on("close", (code, reason) => {
    if (stopping) return;
    if (!p.first)
      return first?.reject(new Error(`proxy ${p.i} closed before its first config: ${code} ${reason}`));
    if (!reconnect) return process.send({ type: "lost", error: `proxy ${p.i} closed: ${code} ${reason}` });
    // Within the backoff base after a stream that was up; with backoff after one refused or never opened
    // (the replica is away).
    const wait = Math.random() * (welcomed ? 500 : Math.min(30_000, 500 * 2 ** p.failures++));
    setTimeout(() => open(p, null), wait);
  });
  ws.on("error", (e) => {
    if (!p.first) first?.reject(new Error(`proxy ${p.i}: ${e.message}`));
  });
}

function connect(i) {
  return new Promise((resolve, reject) => {
    const p = {
      i,
      node: node(i),
      ws: null,
      first: false,
      changed: false,
      workloadId: null,
      version: null,
      failures: 0,
      rejoined: false,
    };
    proxies.push(p);
    open(p, { resolve, reject });
  });
}

process.on("message", async (m) => {
  if (m.type === "join") {
    const t0 = Date.now();
    const batch = 100;
    try {
      for (let i = 0; i < n; i += batch)
        await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, k) => connect(i + k)));
    } catch (e) {
      process.send({ type: "error", error: `join failed: ${e.message}` });
      return;
    }
    process.send({ type: "joined", ms: Date.now() - t0 });
  } else if (m.type === "expect-change") {
    changeAt = m.at;
    seen = [];
    bytesReceived = 0;
    await new Promise((resolve) => {
      waitingForChange = resolve;
      setTimeout(resolve, m.timeoutMs);
    });
    waitingForChange = null;
    process.send({ type: "changed", latencies: seen, bytesReceived });
  } else if (m.type === "expect-restart") {
    for (const p of proxies) p.rejoined = false;
    bytesReceived = 0;
    await new Promise((resolve) => {
      restart = { at: m.at, latencies: [], configs: 0, done: resolve };
      setTimeout(resolve, m.timeoutMs);
    });
    process.send({ type: "rejoined", latencies: restart.latencies, configs: restart.configs, bytesReceived });
    restart = null;
  } else if (m.type === "stop") {
    stopping = true;
    for (const p of proxies) p.ws.terminate();
    process.exit(0);
  }
});
process.send({ type: "ready" });
