// Protocols through two sidecars over mTLS: HTTP/2 + gRPC-style trailers (h2c from the app, h2 between
// sidecars, h2c to the app), WebSocket upgrade, raw TCP passthrough, chunked HTTP/1.1 uploads.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { createHash } from "node:crypto";
import { request } from "undici";
import { Readable } from "node:stream";
import { startProxy, type ProxyHandle } from "./index.js";
import { TestPki } from "./test-pki.js";
import { client, freePort, listen } from "./test-support/apps.js";

const TD = "trellis.test";
const L0 = { address: "127.0.0.1", port: 0 };
const pki = new TestPki();
const webPem = pki.issue(TD, "shop", "web");
const grpcPem = pki.issue(TD, "shop", "greeter");
const wsPem = pki.issue(TD, "shop", "chat");

let grpcApp: http2.Http2Server;
let wsApp: http.Server;
let echoTcp: net.Server;
let greeter: ProxyHandle;
let chat: ProxyHandle;
let web: ProxyHandle;
let tcpLocalPort: number;

beforeAll(async () => {
  // A gRPC-shaped server: h2c, answers with a data frame and `grpc-status` in trailers.
  grpcApp = http2.createServer();
  grpcApp.on("stream", (stream, headers) => {
    if (String(headers[":path"]).endsWith("/Fail")) {
      // A trailers-only answer, as gRPC servers send for an immediate error: 200 with grpc-status in the head.
      stream.respond(
        { ":status": 200, "content-type": "application/grpc", "grpc-status": "14", "grpc-message": "down" },
        { endStream: true },
      );
      stream.resume();
      return;
    }
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      stream.respond(
        { ":status": 200, "content-type": "application/grpc", "x-seen-te": String(headers["te"]) },
        { waitForTrailers: true },
      );
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "grpc-message": "ok" }));
      stream.end(Buffer.concat([Buffer.from("echo:"), ...chunks]));
    });
  });
  const grpcPort = await listen(grpcApp as unknown as net.Server);

  // A WebSocket-style server: accepts the upgrade, then echoes raw bytes.
  wsApp = http.createServer((_q, s) => s.end("not a websocket"));
  wsApp.on("upgrade", (req, socket) => {
    const accept = createHash("sha1")
      .update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest("base64");
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.on("data", (d) => socket.write(d));
  });
  const wsPort = await listen(wsApp);

  echoTcp = net.createServer((s) => s.pipe(s));
  const tcpPort = await listen(echoTcp);

  const id = (service: string) => ({ namespace: "shop", service, version: "v1", trustDomain: TD });
  greeter = await startProxy({
    config: {
      version: "g1",
      identity: id("greeter"),
      tls: grpcPem,
      inbound: { appPort: grpcPort, appProtocol: "h2c" },
    },
    listeners: { inbound: L0, outbound: null, admin: null },
    log: () => {},
  });
  chat = await startProxy({
    config: {
      version: "c1",
      identity: id("chat"),
      tls: wsPem,
      inbound: { appPort: wsPort, tcpPorts: [tcpPort] },
    },
    listeners: { inbound: L0, outbound: null, admin: null },
    log: () => {},
  });
  tcpLocalPort = await freePort();
  web = await startProxy({
    config: {
      version: "w1",
      identity: id("web"),
      tls: webPem,
      services: [
        {
          name: "greeter",
          namespace: "shop",
          endpoints: [{ address: `127.0.0.1:${greeter.addresses.inbound!.port}` }],
        },
        {
          name: "chat",
          namespace: "shop",
          endpoints: [{ address: `127.0.0.1:${chat.addresses.inbound!.port}` }],
        },
        {
          name: "chat",
          namespace: "shop",
          protocol: "tcp",
          port: tcpLocalPort,
          targetPort: tcpPort,
          endpoints: [{ address: `127.0.0.1:${chat.addresses.inbound!.port}` }],
        },
      ],
    },
    listeners: { outbound: L0, inbound: null, admin: null },
    log: () => {},
  });
  // The TCP service's local port is opened with the proxy; the mTLS peer must be `chat`.
  void tcpPort;
});

afterAll(async () => {
  await web.close();
  await greeter.close();
  await chat.close();
  grpcApp.close();
  wsApp.closeAllConnections();
  wsApp.close();
  echoTcp.close();
});

describe("HTTP/2 and gRPC", () => {
  it("carries an h2c gRPC call through both sidecars with trailers intact", async () => {
    const session = http2.connect(`http://127.0.0.1:${web.addresses.outbound!.port}`);
    try {
      const result = await new Promise<{
        headers: http2.IncomingHttpHeaders;
        trailers: http2.IncomingHttpHeaders;
        body: string;
      }>((resolve, reject) => {
        const req = session.request({
          ":method": "POST",
          ":path": "/helloworld.Greeter/SayHello",
          ":authority": "greeter",
          "content-type": "application/grpc",
          te: "trailers",
        });
        let headers: http2.IncomingHttpHeaders = {};
        let body = "";
        req.on("response", (h) => (headers = h));
        req.on("data", (d: Buffer) => (body += d.toString()));
        req.on("trailers", (t) => resolve({ headers, trailers: t, body }));
        req.on("error", reject);
        req.end(Buffer.from("ping"));
      });
      expect(result.headers[":status"]).toBe(200);
      expect(result.headers["content-type"]).toBe("application/grpc");
      expect(result.headers["x-seen-te"]).toBe("trailers");
      expect(result.body).toBe("echo:ping");
      expect(result.trailers["grpc-status"]).toBe("0");
    } finally {
      session.close();
    }
  });
});

/**
 * One h2c call through the web sidecar; resolves with the grpc-status the client saw, as a gRPC client reads
 * it: from the HEADERS frame only when that frame ended the stream (trailers-only), else from the trailers.
 */
function h2Call(path: string, contentType: string): Promise<string | undefined> {
  const session = http2.connect(`http://127.0.0.1:${web.addresses.outbound!.port}`);
  return new Promise<string | undefined>((resolve, reject) => {
    const req = session.request({
      ":method": "POST",
      ":path": path,
      ":authority": "greeter",
      "content-type": contentType,
      te: "trailers",
    });
    let status: string | undefined;
    req.on("response", (h, flags) => {
      if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) status = h["grpc-status"] as string | undefined;
    });
    req.on("trailers", (t) => (status = t["grpc-status"] as string | undefined));
    req.on("data", () => {});
    req.on("end", () => resolve(status));
    req.on("error", reject);
    req.end(Buffer.from("ping"));
  }).finally(() => session.close());
}

describe("WebSocket", () => {
  it("upgrades through both sidecars and relays bytes both ways", async () => {
    const s = net.connect(web.addresses.outbound!.port, "127.0.0.1");
    const got = await new Promise<string>((resolve, reject) => {
      let buf = "";
      s.on("connect", () =>
        s.write(
          "GET /socket HTTP/1.1\r\nHost: chat\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        ),
      );
      s.on("data", (d) => {
        buf += d.toString("latin1");
        if (buf.includes("\r\n\r\n") && !buf.includes("frame-1")) s.write("frame-1");
        if (buf.includes("frame-1")) resolve(buf);
      });
      s.on("error", reject);
    });
    s.destroy();
    expect(got).toMatch(/^HTTP\/1.1 101 /);
    expect(got.toLowerCase()).toContain("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=");
    expect(got).toContain("frame-1");
  });
});

describe("TCP passthrough", () => {
  it("pipes raw bytes through mTLS to the allowed app port", async () => {
    const s = net.connect(tcpLocalPort, "127.0.0.1");
    const payload = Buffer.alloc(256 * 1024, 0x5a);
    const n = await new Promise<number>((resolve, reject) => {
      let got = 0;
      s.on("connect", () => s.write(payload));
      s.on("data", (d) => {
        got += d.length;
        if (got >= payload.length) resolve(got);
      });
      s.on("error", reject);
    });
    s.destroy();
    expect(n).toBe(payload.length);
  });

  it("carries a half-close: a client that sends, then shuts its side, still reads the whole answer", async () => {
    // As `nc -N`, or a request/response protocol that signals the end of its request with FIN.
    const s = net.connect({ port: tcpLocalPort, host: "127.0.0.1", allowHalfOpen: true });
    const payload = Buffer.alloc(64 * 1024, 0x61);
    const got = await new Promise<number>((resolve, reject) => {
      let n = 0;
      s.on("connect", () => s.end(payload));
      s.on("data", (d) => (n += d.length));
      s.on("end", () => resolve(n)); // the echo, then its FIN
      s.on("close", () => resolve(n));
      s.on("error", reject);
    });
    s.destroy();
    // Before, the sidecar tore down both directions on the client's FIN: the echo was cut off.
    expect(got).toBe(payload.length);
  });
});

describe("HTTP/1.1 bodies", () => {
  it("streams a chunked upload of unknown length", async () => {
    const c = client();
    async function* gen() {
      for (let i = 0; i < 64; i++) yield Buffer.alloc(16 * 1024, 0x30 + (i % 10));
    }
    const r = await request(`http://127.0.0.1:${web.addresses.outbound!.port}/echo`, {
      method: "POST",
      headers: { host: "chat" },
      body: Readable.from(gen()),
      dispatcher: c.agent,
    });
    // The chat app is a plain HTTP server answering "not a websocket": the point is the chunked upload got through.
    expect(r.statusCode).toBe(200);
    expect(await r.body.text()).toBe("not a websocket");
    await c.close();
  });
});

describe("telemetry by protocol", () => {
  it("reports what each call spoke, on both sides, and counts a failing grpc-status as an error", async () => {
    // Whatever the tests above sent is drained first, so only these calls count.
    const drainAll = () => [...web.drainTelemetry(), ...greeter.drainTelemetry(), ...chat.drainTelemetry()];
    drainAll();
    expect(await h2Call("/helloworld.Greeter/SayHello", "application/grpc")).toBe("0");
    expect(await h2Call("/helloworld.Greeter/Fail", "application/grpc+proto")).toBe("14");
    await h2Call("/plain", "application/octet-stream"); // HTTP/2 that is not gRPC
    const ws = net.connect(web.addresses.outbound!.port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      ws.on("connect", () =>
        ws.write(
          "GET /socket HTTP/1.1\r\nHost: chat\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        ),
      );
      ws.once("data", () => resolve());
      ws.on("error", reject);
    });
    ws.destroy();
    const tcp = net.connect(tcpLocalPort, "127.0.0.1");
    await new Promise<void>((resolve) => {
      tcp.on("connect", () => tcp.write("x"));
      tcp.once("data", () => resolve());
    });
    tcp.destroy();
    const r = await request(`http://127.0.0.1:${web.addresses.outbound!.port}/`, {
      headers: { host: "chat" },
    });
    await r.body.text();

    // Both sides record when the exchange ends (TCP: when the connection closes): poll until all are in.
    const seen: string[] = [];
    await expect
      .poll(
        () => {
          for (const s of drainAll())
            seen.push(
              `${s.reporter} ${s.source.service}→${s.destination.service} ${s.protocol} ${s.code} ×${s.requests}`,
            );
          return seen.length;
        },
        { timeout: 5_000 },
      )
      .toBe(12);
    expect(seen.sort()).toEqual([
      "inbound web→chat http1 200 ×1",
      "inbound web→chat tcp 0 ×1",
      "inbound web→chat websocket 101 ×1",
      "inbound web→greeter grpc 200 ×1",
      "inbound web→greeter grpc 503 ×1", // UNAVAILABLE
      "inbound web→greeter http2 200 ×1",
      "outbound web→chat http1 200 ×1",
      "outbound web→chat tcp 0 ×1",
      "outbound web→chat websocket 101 ×1",
      "outbound web→greeter grpc 200 ×1",
      "outbound web→greeter grpc 503 ×1",
      "outbound web→greeter http2 200 ×1",
    ]);
  });
});
