// One target, one measurement: CPU per request and RSS of a proxy under closed-loop load, for quick
// before/after checks while optimising (the full comparison is bench.mjs).
//   ROLE=trellis|undici-proxy|node-proxy SECS=5 [PFLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"] node bench/profile.mjs
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";

const HERE = dirname(fileURLToPath(import.meta.url));
const SECS = Number(process.env.SECS ?? 5);
const start = (args, flags = []) =>
  new Promise((resolve) => {
    const c = spawn("taskset", ["-c", "1", process.execPath, ...flags, join(HERE, "servers.mjs"), ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
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

const up = await start(["upstream"]);
const target = await start(
  [process.env.ROLE ?? "trellis", String(up.port)],
  (process.env.PFLAGS ?? "").split(" ").filter(Boolean),
);
const pool = new Pool(`http://127.0.0.1:${target.port}`, { connections: 32 });
await new Promise((r) => setTimeout(r, 300));
const c0 = cpu(target.c.pid);
const end = performance.now() + SECS * 1000;
let n = 0;
await Promise.all(
  Array.from({ length: 32 }, async () => {
    while (performance.now() < end) {
      const r = await pool.request({ path: "/x", method: "GET", headers: { host: "upstream" } });
      await r.body.dump();
      n++;
    }
  }),
);
const status = readFileSync(`/proc/${target.c.pid}/status`, "utf8");
console.log(
  `${process.env.ROLE ?? "trellis"}: ${(((cpu(target.c.pid) - c0) * 1e6) / n).toFixed(1)} µs CPU/req, ${Math.round(n / SECS)} req/s, ${/VmHWM.*/.exec(status)[0].replace(/\s+/g, " ")}`,
);
target.c.kill("SIGINT");
up.c.kill();
await new Promise((r) => setTimeout(r, 1000));
process.exit(0);
