// Processes the benchmark starts, one role each: `node servers.mjs <role> ...`. Prints `READY <port>` when up.
// Roles: upstream | node-proxy <upstreamPort> | trellis <upstreamPort> | sidecar-in <upstreamPort> <pkiDir>
//        | sidecar-out <inboundPort> <pkiDir>
import http from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startProxy } from "../dist/index.js";

const [role, a1, a2] = process.argv.slice(2);
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
    const up = http.request({ host: "127.0.0.1", port: Number(a1), method: req.method, path: req.url, headers: req.headers, agent }, (ur) => {
      res.writeHead(ur.statusCode, ur.headers);
      ur.pipe(res);
    });
    up.on("error", () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  s.listen(0, "127.0.0.1", () => ready(s.address().port));
} else if (role === "trellis") {
  const p = await startProxy({
    config: {
      version: "bench",
      identity: identity("client"),
      services: [{ name: "upstream", namespace: "bench", hosts: ["*"], mtls: false, endpoints: [{ address: `127.0.0.1:${a1}` }] }],
    },
    listeners: { outbound: L(), inbound: null, admin: L() },
    log: () => {},
  });
  ready(p.addresses.outbound.port);
} else if (role === "sidecar-in") {
  const p = await startProxy({
    config: { version: "bench", identity: identity("upstream"), tls: pem(a2, "upstream"), inbound: { appPort: Number(a1) } },
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
      services: [{ name: "upstream", namespace: "bench", hosts: ["*"], endpoints: [{ address: `127.0.0.1:${a1}` }] }],
    },
    listeners: { outbound: L(), inbound: null, admin: L() },
    log: () => {},
  });
  ready(p.addresses.outbound.port);
} else {
  console.error(`unknown role ${role}`);
  process.exit(2);
}
