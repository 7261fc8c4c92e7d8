// One target, one measurement: CPU per request and RSS of a proxy under closed-loop load, for quick
// before/after checks while optimising (the full comparison is bench.mjs).
//   ROLE=trellis|undici-proxy|node-proxy SECS=5 [PFLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"] node bench/profile.mjs
// gRPC (grpc-js client, 32 calls in flight on one channel, grpc-js upstream):
//   ROLE=quick|mesh|node-h2-proxy|direct CALL=unary|stream SECS=5 [PFLAGS=…] node bench/profile.mjs
// `mesh` is two sidecars over mTLS; PFLAGS go to both (one profile each).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";

const HERE = dirname(fileURLToPath(import.meta.url));
const SECS = Number(process.env.SECS ?? 5);
const ROLE = process.env.ROLE ?? "trellis";
const GRPC = ROLE === "quick" || ROLE === "mesh" || ROLE === "node-h2-proxy" || ROLE === "direct";
const PFLAGS = (process.env.PFLAGS ?? "").split(" ").filter(Boolean);
const kids = [];
process.on("exit", () => kids.forEach((c) => c.kill("SIGKILL")));
const start = (args, flags = []) =>
  new Promise((resolve) => {
    const c = spawn("taskset", ["-c", "1", process.execPath, ...flags, join(HERE, "servers.mjs"), ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    kids.push(c);
    c.stdout.on("data", (d) => {
      const m = /READY (\d+)/.exec(d);
      if (m) resolve({ c, port: Number(m[1]) });
    });
  });
const cpu = (pid) => {
  const st = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
};

let up;
let measured; // the proxies, in the order they are reported
let call;
let close = () => {};
if (GRPC) {
  const g = await import("./grpc.mjs");
  up = await start(["grpc-upstream"]);
  if (ROLE === "direct") {
    measured = [up];
  } else if (ROLE === "quick") {
    measured = [await start(["quick", String(up.port), "h2c"], PFLAGS)];
  } else if (ROLE === "node-h2-proxy") {
    measured = [await start([ROLE, String(up.port)], PFLAGS)];
  } else {
    const { makePki } = await import("./pki.mjs");
    const pki = makePki();
    const sin = await start(["sidecar-in", String(up.port), pki, "h2c"], PFLAGS);
    measured = [await start(["sidecar-out", String(sin.port), pki], PFLAGS), sin];
  }
  const TestService = g.loadTestService();
  const client = new TestService(`127.0.0.1:${measured[0].port}`, g.grpc.credentials.createInsecure());
  call = process.env.CALL === "stream" ? g.streamCall(client) : g.unaryCall(client);
  close = () => client.close();
} else {
  up = await start(["upstream"]);
  measured = [await start([ROLE, String(up.port)], PFLAGS)];
  const pool = new Pool(`http://127.0.0.1:${measured[0].port}`, { connections: 32 });
  call = async () => {
    const r = await pool.request({ path: "/x", method: "GET", headers: { host: "upstream" } });
    await r.body.dump();
  };
}
// Warm up (connections, JIT), then measure.
const loop = async (secs) => {
  const end = performance.now() + secs * 1000;
  let n = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (performance.now() < end) {
        try {
          await call();
          n++;
        } catch {
          errors++;
        }
      }
    }),
  );
  return { n, errors };
};
await loop(1);
const c0 = measured.map((m) => cpu(m.c.pid));
const u0 = cpu(up.c.pid);
const { n, errors } = await loop(SECS);
const per = (secs) => ((secs * 1e6) / n).toFixed(1);
const what = GRPC ? `${ROLE} ${process.env.CALL ?? "unary"}` : ROLE;
const unit = GRPC ? "call" : "req";
for (const [i, m] of measured.entries()) {
  const status = readFileSync(`/proc/${m.c.pid}/status`, "utf8");
  console.log(
    `${what}${measured.length > 1 ? ` #${i + 1}` : ""}: ${per(cpu(m.c.pid) - c0[i])} µs CPU/${unit}, ${/VmHWM.*/.exec(status)[0].replace(/\s+/g, " ")}`,
  );
}
console.log(
  `${Math.round(n / SECS)} ${unit}s/s, upstream ${per(cpu(up.c.pid) - u0)} µs CPU/${unit}, ${errors} errors`,
);
close();
for (const m of measured) m.c.kill("SIGINT");
await new Promise((r) => setTimeout(r, 1000));
process.exit(0);
