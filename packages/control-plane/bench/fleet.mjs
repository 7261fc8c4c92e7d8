// Benchmark child: N light proxies speaking the real protocol (join token, pinned CA, CSR, hello, ACK), as
// cheap as possible so the fleet does not bottleneck the measurement: messages are not parsed as a whole;
// the version and nonce are read from the message's head and the change is found by a byte search.
import WebSocket from "ws";
import { fetchPinnedCa, generateKeyAndCsr } from "@trellis/dataplane/mesh";

const { url, token, n, services } = JSON.parse(process.argv[2]);
const caPem = await fetchPinnedCa(url, token);
const { csrPem } = await generateKeyAndCsr(); // one key for all: the CA signs each request anyway
const MARK = Buffer.from(process.env.BENCH_MARK ?? '"accessLog":true');
const HEAD = /^\{"type":"config","version":"([^"]+)","nonce":"([^"]+)"/;

const proxies = [];
let acked = 0;
let changeAt = 0;
const seen = [];

function connect(i) {
  return new Promise((resolve, reject) => {
    const svc = `svc-${i % services}`;
    const ws = new WebSocket(`${url}/v1/stream`, {
      ca: caPem,
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
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
            address: `10.1.${(i >> 8) & 255}.${i & 255}:15006`,
            labels: {},
          },
          csr: csrPem,
        }),
      );
    });
    ws.on("message", (data) => {
      const head = HEAD.exec(data.toString("latin1", 0, 200));
      if (!head) return;
      ws.send(`{"type":"ack","version":"${head[1]}","nonce":"${head[2]}"}`);
      if (!p.first) {
        p.first = true;
        acked++;
        resolve();
      }
      if (changeAt && !p.changed && data.indexOf(MARK) !== -1) {
        p.changed = true;
        seen.push(Date.now() - changeAt);
      }
    });
    ws.on("error", reject);
    proxies.push(p);
  });
}

process.on("message", async (m) => {
  if (m.type === "join") {
    const t0 = Date.now();
    const batch = 100;
    for (let i = 0; i < n; i += batch)
      await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, k) => connect(i + k)));
    process.send({ type: "joined", ms: Date.now() - t0, acked });
  } else if (m.type === "expect-change") {
    changeAt = m.at;
    seen.length = 0;
    const deadline = Date.now() + m.timeoutMs;
    while (seen.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    process.send({ type: "changed", latencies: seen.slice() });
  } else if (m.type === "stop") {
    for (const p of proxies) p.ws.terminate();
    process.exit(0);
  }
});
process.send({ type: "ready" });
