// Spans of connections that outlive their request: a WebSocket's span is its whole session (from the upgrade
// to the close, with the bytes it carried), and each TCP connection gets a span on both sidecars, as long as
// the connection. Two real sidecars over mTLS, a real WebSocket handshake and TCP echo, spans decoded with the
// OpenTelemetry project's protocol definitions.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import net from "node:net";
import { createHash } from "node:crypto";
import { startProxy, type ProxyHandle } from "./index.js";
import { TestPki } from "./test-pki.js";
import { freePort, listen } from "./test-support/apps.js";
import { startCollector, type TestCollector } from "./test-support/collector.js";

const TD = "trellis.test";
const L0 = { address: "127.0.0.1", port: 0 };
const pki = new TestPki();

let collector: TestCollector;
let wsApp: http.Server;
let echoTcp: net.Server;
let chat: ProxyHandle;
let web: ProxyHandle;
let tcpLocalPort: number;
let tcpPort: number;

beforeAll(async () => {
  collector = await startCollector();
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
  tcpPort = await listen(echoTcp);
  const tracing = { samplingPercent: 100, endpoint: collector.endpoint, flushIntervalMs: 50 };
  const id = (service: string) => ({ namespace: "shop", service, version: "v1", trustDomain: TD });
  chat = await startProxy({
    config: {
      version: "c1",
      identity: id("chat"),
      tls: pki.issue(TD, "shop", "chat"),
      inbound: { appPort: wsPort, tcpPorts: [tcpPort] },
      tracing,
    },
    listeners: { inbound: L0, outbound: null, admin: null },
    log: () => {},
  });
  tcpLocalPort = await freePort();
  const endpoints = [{ address: `127.0.0.1:${chat.addresses.inbound!.port}` }];
  web = await startProxy({
    config: {
      version: "w1",
      identity: id("web"),
      tls: pki.issue(TD, "shop", "web"),
      services: [
        { name: "chat", namespace: "shop", endpoints },
        {
          name: "chat",
          namespace: "shop",
          protocol: "tcp",
          port: tcpLocalPort,
          targetPort: tcpPort,
          endpoints,
        },
      ],
      tracing,
    },
    listeners: { outbound: L0, inbound: null, admin: null },
    log: () => {},
  });
});

afterAll(async () => {
  await web?.close();
  await chat?.close();
  wsApp?.closeAllConnections();
  wsApp?.close();
  echoTcp?.close();
  await collector?.close();
});

describe("session spans", () => {
  it("a WebSocket's span lasts from the upgrade to the close, one trace across both sidecars", async () => {
    const s = net.connect(web.addresses.outbound!.port, "127.0.0.1");
    const traceId = "1bf92f3577b34da6a3ce929d0e0e4736";
    await new Promise<void>((resolve, reject) => {
      let buf = "";
      s.on("connect", () =>
        s.write(
          `GET /socket HTTP/1.1\r\nHost: chat\r\nUpgrade: websocket\r\nConnection: Upgrade\r\ntraceparent: 00-${traceId}-00f067aa0ba902b7-01\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
      );
      s.on("data", (d) => {
        buf += d.toString("latin1");
        if (buf.includes("\r\n\r\n") && !buf.includes("frame-1")) s.write("frame-1");
        if (buf.includes("frame-1")) resolve();
      });
      s.on("error", reject);
    });
    // The session stays open a while after the 101: no span yet.
    await new Promise((r) => setTimeout(r, 300));
    expect(collector.spans.filter((x) => x.traceId === traceId)).toEqual([]);
    s.end();
    await expect.poll(() => collector.spans.filter((x) => x.traceId === traceId).length).toBe(2);
    const spans = collector.spans.filter((x) => x.traceId === traceId);
    const client = spans.find((x) => x.kind === 3)!;
    const server = spans.find((x) => x.kind === 2)!;
    expect(server.parentSpanId).toBe(client.spanId);
    for (const span of spans) {
      expect(span.attributes).toMatchObject({
        "trellis.protocol": "websocket",
        "http.response.status_code": 101,
      });
      // At least the 300 ms the session was held open after the upgrade.
      expect(Number(span.end - span.start) / 1e6).toBeGreaterThanOrEqual(290);
      expect(span.attributes["trellis.session.bytes_received"]).toBeGreaterThan(7);
    }
  });

  it("each TCP connection gets a span on both sidecars, as long as the connection, with its bytes", async () => {
    const before = collector.spans.length;
    const s = net.connect(tcpLocalPort, "127.0.0.1");
    const payload = Buffer.alloc(64 * 1024, 0x5a);
    await new Promise<void>((resolve, reject) => {
      let got = 0;
      s.on("connect", () => s.write(payload));
      s.on("data", (d) => {
        got += d.length;
        if (got >= payload.length) resolve();
      });
      s.on("error", reject);
    });
    await new Promise((r) => setTimeout(r, 200));
    s.end();
    await expect
      .poll(() => collector.spans.slice(before).filter((x) => x.name.startsWith("TCP ")).length)
      .toBe(2);
    const spans = collector.spans.slice(before).filter((x) => x.name.startsWith("TCP "));
    const client = spans.find((x) => x.kind === 3)!;
    const server = spans.find((x) => x.kind === 2)!;
    expect(client.name).toBe("TCP chat.shop");
    expect(server.name).toBe(`TCP :${tcpPort}`);
    expect(client.attributes).toMatchObject({
      "network.transport": "tcp",
      "trellis.protocol": "tcp",
      "trellis.source.service": "web",
      "trellis.destination.service": "chat",
      "trellis.mtls": true,
      "trellis.session.bytes_received": payload.length,
      "trellis.session.bytes_sent": payload.length,
    });
    expect(server.attributes).toMatchObject({ "trellis.source.service": "web", "server.port": tcpPort });
    // Nothing in a byte stream carries a trace: each side's connection is a trace of its own.
    expect(client.traceId).not.toBe(server.traceId);
    expect(Number(client.end - client.start) / 1e6).toBeGreaterThanOrEqual(190);
    expect(client.status.code).toBe(0);
  });
});
