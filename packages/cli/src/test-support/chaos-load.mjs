// The chaos tests' load generator, run by Node in a client pod (an app that knows nothing of the mesh: it calls
// a service by name and its sidecar captures the call). It starts GET requests at a steady rate, whatever the
// answers, and writes one JSON line per request when it ends, so that the test counts every request:
//   {"s":17,"t0":…,"t1":…,"ok":true,"by":"echo-2","gen":"2"}   the app's answer (who served it, which config)
//   {"s":18,"t0":…,"t1":…,"ok":false,"err":"HTTP 503 DP_…"}      anything else
// and, every 100 ms when it changed, what its sidecar's admin says about the service's endpoints:
//   {"clusters":{"version":"…","endpoints":[{"address":"10.213.1.4:15006","ejected":false}]},"t":…}
// Usage: node chaos-load.mjs URL RPS ADMIN_URL SERVICE
import { Agent, get } from "node:http";

const [url, rpsText, adminUrl, service] = process.argv.slice(2);
const rps = Number(rpsText);
const TIMEOUT_MS = 5_000;
const MAX_IN_FLIGHT = 1_000;

// As many connections as requests in flight: the generator must not queue requests itself.
const agent = new Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
let seq = 0;
let inFlight = 0;

function one() {
  const s = seq++;
  const t0 = Date.now();
  // Counted, never skipped silently: a request the generator could not even start is a failure.
  if (inFlight >= MAX_IN_FLIGHT) return out({ s, t0, t1: t0, ok: false, err: "too many in flight" });
  inFlight++;
  let done = false;
  const end = (r) => {
    if (done) return;
    done = true;
    inFlight--;
    out({ s, t0, t1: Date.now(), ...r });
  };
  const req = get(url, { agent, timeout: TIMEOUT_MS }, (res) => {
    let body = "";
    res.setEncoding("utf8");
    res.on("data", (c) => (body += c));
    res.on("end", () => {
      if (res.statusCode !== 200)
        return end({ ok: false, err: `HTTP ${res.statusCode} ${res.headers["x-trellis-error"] ?? ""}` });
      try {
        const a = JSON.parse(body);
        end({ ok: true, by: a.by, gen: a.gen });
      } catch {
        end({ ok: false, err: `not the app's answer: ${body.slice(0, 80)}` });
      }
    });
    res.on("error", (e) => end({ ok: false, err: e.message }));
  });
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.on("error", (e) => end({ ok: false, err: e.message }));
}

// Started on a fixed schedule (catching up after a late timer), so a slow answer does not lower the rate.
const started = Date.now();
setInterval(() => {
  const due = Math.floor(((Date.now() - started) * rps) / 1000);
  while (seq < due) one();
}, 5);

let last = "";
setInterval(() => {
  get(adminUrl, { timeout: 1_000 }, (res) => {
    let body = "";
    res.setEncoding("utf8");
    res.on("data", (c) => (body += c));
    res.on("end", () => {
      try {
        const c = JSON.parse(body);
        const svc = c.clusters.find((x) => x.name === service);
        const now = {
          version: c.version,
          endpoints: (svc?.endpoints ?? []).map((e) => ({ address: e.address, ejected: e.ejected })),
        };
        const text = JSON.stringify(now);
        if (text !== last) out({ clusters: now, t: Date.now() });
        last = text;
      } catch {
        // not up yet
      }
    });
  })
    .on("error", () => {})
    .on("timeout", function () {
      this.destroy();
    });
}, 100);
