// Processes the benchmark starts, one role each: `node servers.mjs <role> ...`. Prints `READY <port>` when up.
// Roles: upstream | node-proxy <upstreamPort> | trellis <upstreamPort> | sidecar-in <upstreamPort> <pkiDir>
//        | sidecar-out <inboundPort> <pkiDir>
import http from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startProxy } from "../dist/index.js";

const [role, a1, a2] = process.argv.slice(2);
if (process.env.BENCH_MEM)
  setInterval(() => {
    const m = process.memoryUsage();
    process.stderr.write(
      `${role} rss=${(m.rss / 1e6).toFixed(0)} heapTotal=${(m.heapTotal / 1e6).toFixed(0)} heapUsed=${(m.heapUsed / 1e6).toFixed(0)} ext=${(m.external / 1e6).toFixed(0)} ab=${(m.arrayBuffers / 1e6).toFixed(0)}\n`,
    );
  }, 1000).unref();
// A clean exit on SIGINT lets --cpu-prof write its profile.
process.on("SIGINT", () => process.exit(0));
const ready = (port) => process.stdout.write(`READY ${port}\n`);
const identity = (service) => ({ namespace: "bench", service, version: "v1", trustDomain: "bench.local" });
const pem = (dir, name) => ({
  certPem: readFileSync(join(dir, `${name}.crt`), "utf8"),
  keyPem: readFileSync(join(dir, `${name}.key`), "utf8"),
  caPem: readFileSync(join(dir, "ca.crt"), "utf8"),
});
const L = (port = 0) => ({ address: "127.0.0.1", port });

if (role === "upstream") {
  const body = Buffer.from("hello from upstream\n");
  const s = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
    res.end(body);
  });
  s.listen(0, "127.0.0.1", () => ready(s.address().port));
} else if (role === "node-proxy") {
  // The naive reference: node:http server + keep-alive Agent, piping both ways.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const s = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const up = http.request(
      { host: "127.0.0.1", port: Number(a1), method: req.method, path: req.url, headers: req.headers, agent },
      (ur) => {
        res.writeHead(ur.statusCode, ur.headers);
        ur.pipe(res);
      },
    );
    up.on("error", () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  s.listen(0, "127.0.0.1", () => ready(s.address().port));
} else if (role === "undici-proxy") {
  // The other reference: node:http server + undici Pool (request API, body piped).
  const { Pool } = await import("undici");
  const pool = new Pool(`http://127.0.0.1:${a1}`, { connections: 256, keepAliveTimeout: 60_000 });
  const s = http.createServer({ keepAliveTimeout: 60_000 }, async (req, res) => {
    try {
      const headers = { ...req.headers };
      delete headers.connection;
      const ur = await pool.request({
        method: req.method,
        path: req.url,
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? null : req,
      });
      res.writeHead(ur.statusCode, ur.headers);
      ur.body.pipe(res);
    } catch {
      res.writeHead(502);
      res.end();
    }
  });
  s.listen(0, "127.0.0.1", () => ready(s.address().port));
} else if (role === "trellis") {
  const p = await startProxy({
    config: {
      version: "bench",
      identity: identity("client"),
      services: [
        {
          name: "upstream",
          namespace: "bench",
          hosts: ["*"],
          mtls: false,
          endpoints: [{ address: `127.0.0.1:${a1}` }],
        },
      ],
    },
    listeners: { outbound: L(), inbound: null, admin: L() },
    log: () => {},
  });
  ready(p.addresses.outbound.port);
} else if (role === "sidecar-in") {
  const p = await startProxy({
    config: {
      version: "bench",
      identity: identity("upstream"),
      tls: pem(a2, "upstream"),
      inbound: { appPort: Number(a1) },
    },
    listeners: { outbound: null, inbound: L(), admin: L() },
    log: () => {},
  });
  ready(p.addresses.inbound.port);
} else if (role === "sidecar-out") {
  const p = await startProxy({
    config: {
      version: "bench",
      identity: identity("client"),
      tls: pem(a2, "client"),
      services: [
        { name: "upstream", namespace: "bench", hosts: ["*"], endpoints: [{ address: `127.0.0.1:${a1}` }] },
      ],
    },
    listeners: { outbound: L(), inbound: null, admin: L() },
    log: () => {},
  });
  ready(p.addresses.outbound.port);
} else {
  console.error(`unknown role ${role}`);
  process.exit(2);
}
