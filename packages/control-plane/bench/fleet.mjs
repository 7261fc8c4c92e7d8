// Benchmark child: N light proxies speaking the real protocol (join token, pinned CA, CSR, hello, ACK), as
// cheap as possible so the fleet does not bottleneck the measurement: messages are not parsed as a whole;
// the version and nonce are read from the message's head and the change is found by a byte search.
//
// A proxy whose stream closes or fails before its first config makes the join fail with the reason (the
// parent prints it and exits non-zero): waiting for a config that can no longer come is how the harness
// used to hang.
import WebSocket from "ws";
import { fetchPinnedCa, generateKeyAndCsr } from "@trellis/dataplane/mesh";

const { url, token, n, services, deltas, reachable } = JSON.parse(process.argv[2]);
const caPem = await fetchPinnedCa(url, token);
const { csrPem } = await generateKeyAndCsr(); // one key for all: the CA signs each request anyway
const MARK = Buffer.from(process.env.BENCH_MARK ?? '"accessLog":true');
const HEAD = /^\{"type":"(?:config|delta)","version":"([^"]+)","nonce":"([^"]+)"/;

const proxies = [];
let changeAt = 0;
let seen = [];
let waitingForChange = null;
let bytesReceived = 0;

function connect(i) {
  return new Promise((resolve, reject) => {
    const svc = `svc-${i % services}`;
    // Scoped: each service calls the next `reachable` ones (as real services call a handful of others).
    const calls = reachable
      ? Array.from({ length: Math.min(reachable, services - 1) }, (_, k) => `svc-${(i + k + 1) % services}`)
      : null;
    const ws = new WebSocket(`${url}/v1/stream`, {
      ca: caPem,
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
    });
    const p = { ws, first: false, changed: false };
    ws.on("open", () => {
      ws.send(
        JSON.stringify({
          type: "hello",
          node: {
            namespace: "bench",
            service: svc,
            version: `v${i % 2}`,
            address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:15006`,
            labels: {},
            ...(calls ? { reachableServices: calls } : {}),
          },
          csr: csrPem,
          // Deltas need no state here: the change is found by its bytes, whole or delta.
          ...(deltas ? { features: ["delta"] } : {}),
        }),
      );
    });
    ws.on("message", (data) => {
      bytesReceived += data.length;
      const head = HEAD.exec(data.toString("latin1", 0, 200));
      if (!head) {
        if (data.toString("latin1", 0, 20).startsWith('{"type":"error"')) reject(new Error(data.toString()));
        return;
      }
      ws.send(`{"type":"ack","version":"${head[1]}","nonce":"${head[2]}"}`);
      if (!p.first) {
        p.first = true;
        resolve();
      }
      if (changeAt && !p.changed && data.indexOf(MARK) !== -1) {
        p.changed = true;
        seen.push(Date.now() - changeAt);
        if (seen.length === n) waitingForChange?.();
      }
    });
    ws.on("close", (code, reason) => {
      if (!p.first) reject(new Error(`proxy ${i} closed before its first config: ${code} ${reason}`));
      else if (!stopping) process.send({ type: "lost", error: `proxy ${i} closed: ${code} ${reason}` });
    });
    ws.on("error", (e) => reject(new Error(`proxy ${i}: ${e.message}`)));
    proxies.push(p);
  });
}

let stopping = false;
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
  } else if (m.type === "stop") {
    stopping = true;
    for (const p of proxies) p.ws.terminate();
    process.exit(0);
  }
});
process.send({ type: "ready" });
