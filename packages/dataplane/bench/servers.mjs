// Processes the benchmark starts, one role each: `node servers.mjs <role> ...`. Prints `READY <port>` when up.
// Roles: upstream | node-proxy <upstreamPort> | trellis <upstreamPort> | sidecar-in <upstreamPort> <pkiDir> [appProtocol]
//        | sidecar-out <inboundPort> <pkiDir> | grpc-upstream | quick <upstreamPort> <upstreamProtocol>
//        | node-h2-proxy <upstreamPort> | collector
// BENCH_TRACING_PERCENT and BENCH_TRACING_PORT give the sidecars tracing at that sampling percent, exporting to
// the collector on that port.
// The Trellis roles (trellis, sidecar-in, sidecar-out, quick) run as `trellis proxy` does: V8 tuned for a proxy
// (tuneV8ForProxy, before the proxy loads; TRELLIS_PROXY_NODE_DEFAULTS=1 leaves Node's defaults, as it does for
// `trellis proxy`). The other roles never load the data plane, so their memory is theirs.
import http from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [role, a1, a2, a3] = process.argv.slice(2);
const TRELLIS_ROLES = ["trellis", "sidecar-in", "sidecar-out", "quick"];
let startProxy, quickConfig;
if (TRELLIS_ROLES.includes(role)) {
  const tuning = await import("@trellis/dataplane/v8-tuning");
  if (process.env.TRELLIS_PROXY_NODE_DEFAULTS !== "1") tuning.tuneV8ForProxy();
  const dataplane = await import("@trellis/dataplane");
  quickConfig = dataplane.quickConfig;
  // As `trellis proxy`: once the proxy is up, the young generation may grow to its size for traffic.
  startProxy = async (options) => {
    const p = await dataplane.startProxy(options);
    tuning.tuneV8ForTraffic();
    return p;
  };
}
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
const tracing =
  process.env.BENCH_TRACING_PERCENT !== undefined
    ? {
        tracing: {
          samplingPercent: Number(process.env.BENCH_TRACING_PERCENT),
          endpoint: `http://127.0.0.1:${process.env.BENCH_TRACING_PORT}/v1/traces`,
        },
      }
    : {};

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
      ...tracing,
      inbound: { appPort: Number(a1), ...(a3 ? { appProtocol: a3 } : {}) },
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
      ...tracing,
      services: [
        { name: "upstream", namespace: "bench", hosts: ["*"], endpoints: [{ address: `127.0.0.1:${a1}` }] },
      ],
    },
    listeners: { outbound: L(), inbound: null, admin: L() },
    log: () => {},
  });
  ready(p.addresses.outbound.port);
} else if (role === "collector") {
  // An OTLP/HTTP traces endpoint that reads each batch and drops it; GET /stats says how much came.
  let requests = 0;
  let bytes = 0;
  const server = http.createServer((req, res) => {
    if (req.method === "GET") return void res.end(JSON.stringify({ requests, bytes }));
    req.on("data", (c) => (bytes += c.length));
    req.on("end", () => {
      requests++;
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  server.listen(0, "127.0.0.1", () => ready(server.address().port));
} else if (role === "quick") {
  // `trellis proxy --to …`: quick mode's own config, as the CLI builds it.
  const p = await startProxy({
    config: quickConfig({ to: `127.0.0.1:${a1}`, upstreamProtocol: a2 }),
    listeners: { outbound: L(), inbound: null, admin: L() },
    log: () => {},
  });
  ready(p.addresses.outbound.port);
} else if (role === "node-h2-proxy") {
  // The naive HTTP/2 reference for the gRPC rows: node:http2's core API, one client session to an h2c upstream,
  // streams piped both ways, response trailers passed on. No routing, telemetry, deadlines or error mapping.
  const http2 = await import("node:http2");
  const { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM } = http2.constants;
  const session = http2.connect(`http://127.0.0.1:${a1}`);
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    const up = session.request(headers, { endStream: false });
    let trailers = {};
    up.on("response", (h, flags) => {
      if (flags & NGHTTP2_FLAG_END_STREAM) return stream.respond(h, { endStream: true }); // trailers-only
      stream.respond(h, { waitForTrailers: true });
      up.pipe(stream);
    });
    up.on("trailers", (t) => (trailers = t));
    stream.on("wantTrailers", () => stream.sendTrailers(trailers));
    up.on("error", () => stream.destroyed || stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    stream.on("error", () => {});
    stream.on("close", () => up.closed || up.close(NGHTTP2_CANCEL));
    stream.pipe(up);
  });
  server.listen(0, "127.0.0.1", () => ready(server.address().port));
} else if (role === "grpc-upstream") {
  // A real gRPC server (grpc-js): UnaryCall answers a payload of the asked size, StreamingOutputCall one message
  // per ResponseParameters entry. Payloads are allocated once per size, so the upstream's cost is gRPC's own.
  const { grpc, loadTestService } = await import("./grpc.mjs");
  const TestService = loadTestService();
  const payloads = new Map();
  const payload = (size) => {
    let m = payloads.get(size);
    if (m === undefined)
      payloads.set(size, (m = { payload: { type: "COMPRESSABLE", body: Buffer.alloc(size) } }));
    return m;
  };
  const server = new grpc.Server();
  server.addService(TestService.service, {
    UnaryCall: (call, cb) => cb(null, payload(call.request.responseSize)),
    StreamingOutputCall: (call) => {
      for (const p of call.request.responseParameters) call.write(payload(p.size));
      call.end();
    },
  });
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    ready(port);
  });
} else {
  console.error(`unknown role ${role}`);
  process.exit(2);
}
