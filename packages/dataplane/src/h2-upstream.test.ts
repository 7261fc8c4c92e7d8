// What the HTTP/2 wire carries through the proxy, frame by frame where it matters, with node's own http2 on
// both ends (not the proxy's client): END_STREAM on a trailers-only HEADERS frame, trailers both ways, every
// byte under backpressure, RST_STREAM CANCEL upstream when the caller cancels, the caller's grpc-timeout,
// streams multiplexed on one connection within the peer's SETTINGS_MAX_CONCURRENT_STREAMS — and a response
// that cannot be delivered whole is an error the client sees and telemetry records, never a 200.
import { afterAll, afterEach, describe, expect, it } from "vitest";
import http from "node:http";
import http2, { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { startProxy, type ProxyHandle } from "./index.js";
import { quickConfig } from "./config/quick.js";
import { TestPki } from "./test-pki.js";
import { freePort } from "./test-support/apps.js";

const L0 = { address: "127.0.0.1", port: 0 };
const TD = "trellis.test";
const pki = new TestPki();
const callerPem = pki.issue(TD, "shop", "web");
const calleePem = pki.issue(TD, "shop", "greeter");

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;

/** An h2c upstream that records what each stream saw: its rstCode when it closed, its trailers. */
async function h2Upstream(onStream: StreamHandler, settings: http2.Settings = {}) {
  const server = http2.createServer({ settings });
  const seen = {
    sessions: 0,
    open: 0,
    maxOpen: 0,
    closed: [] as { path: string; rstCode: number }[],
    trailers: [] as IncomingHttpHeaders[],
  };
  server.on("session", () => seen.sessions++);
  server.on("stream", (stream, headers) => {
    seen.open++;
    seen.maxOpen = Math.max(seen.maxOpen, seen.open);
    stream.on("trailers", (t: IncomingHttpHeaders) => seen.trailers.push(t));
    stream.on("close", () => {
      seen.open--;
      seen.closed.push({ path: String(headers[":path"]), rstCode: stream.rstCode });
    });
    stream.on("error", () => {});
    onStream(stream, headers);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as AddressInfo).port, seen, server };
}

async function quick(
  upstreamPort: number,
  upstreamProtocol: "http1" | "h2c" = "h2c",
  limits: Record<string, number> = {},
): Promise<ProxyHandle> {
  const proxy = await startProxy({
    config: { ...quickConfig({ to: `127.0.0.1:${upstreamPort}`, upstreamProtocol }), limits },
    listeners: { outbound: L0, inbound: null, admin: L0 },
    log: () => {},
  });
  cleanups.push(() => proxy.close());
  return proxy;
}

const identity = (service: string) => ({ namespace: "shop", service, version: "v1", trustDomain: TD });

/** A sidecar in front of an h2c app, speaking as `service` with `pem`. */
async function calleeSidecar(appPort: number, service: string, pem: typeof calleePem): Promise<ProxyHandle> {
  const callee = await startProxy({
    config: {
      version: "g1",
      identity: identity(service),
      tls: pem,
      inbound: { appPort, appProtocol: "h2c" },
    },
    listeners: { inbound: L0, outbound: null, admin: null },
    log: () => {},
  });
  cleanups.push(() => callee.close());
  return callee;
}

/** web's sidecar, calling `greeter` (any host) at `callee` over mTLS. */
async function callerSidecar(callee: ProxyHandle): Promise<ProxyHandle> {
  const caller = await startProxy({
    config: {
      version: "w1",
      identity: identity("web"),
      tls: callerPem,
      services: [
        {
          name: "greeter",
          namespace: "shop",
          hosts: ["*"],
          endpoints: [{ address: `127.0.0.1:${callee.addresses.inbound!.port}` }],
        },
      ],
    },
    listeners: { outbound: L0, inbound: null, admin: L0 },
    log: () => {},
  });
  cleanups.push(() => caller.close());
  return caller;
}

/** The same upstream behind two sidecars over mTLS (h2 between them, h2c to the app). */
async function mesh(upstreamPort: number): Promise<ProxyHandle> {
  return callerSidecar(await calleeSidecar(upstreamPort, "greeter", calleePem));
}

function connect(proxy: ProxyHandle) {
  const session = http2.connect(`http://127.0.0.1:${proxy.addresses.outbound!.port}`);
  session.on("error", () => {});
  cleanups.push(() => {
    session.destroy();
  });
  return session;
}

interface Exchange {
  headers: IncomingHttpHeaders;
  headersFlags: number;
  dataFrames: number;
  bytes: number;
  trailers: IncomingHttpHeaders | null;
  rstCode: number;
  error: Error | null;
}

function exchange(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  send?: (req: http2.ClientHttp2Stream) => void,
  opts: { slow?: boolean } = {},
): Promise<Exchange> {
  return new Promise((resolve) => {
    const req = session.request(
      {
        ":method": "POST",
        ":path": "/svc/Method",
        "content-type": "application/grpc",
        te: "trailers",
        ...headers,
      },
      { waitForTrailers: send !== undefined },
    );
    const out: Exchange = {
      headers: {},
      headersFlags: 0,
      dataFrames: 0,
      bytes: 0,
      trailers: null,
      rstCode: 0,
      error: null,
    };
    req.on("response", (h, flags) => {
      out.headers = h;
      out.headersFlags = flags;
    });
    req.on("data", (d: Buffer) => {
      out.dataFrames++;
      out.bytes += d.length;
      if (opts.slow) {
        // A slow reader: a pause after every chunk, so the proxy sees backpressure all the way.
        req.pause();
        setTimeout(() => req.resume(), 2);
      }
    });
    req.on("trailers", (t) => (out.trailers = t));
    req.on("error", (e) => (out.error = e));
    req.on("close", () => {
      out.rstCode = req.rstCode ?? 0;
      resolve(out);
    });
    if (send) send(req);
    else req.end();
  });
}

async function metrics(proxy: ProxyHandle): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${proxy.addresses.admin!.port}/stats/prometheus`);
  return res.text();
}

const grpcFrame = (n: number) => {
  const b = Buffer.alloc(5 + n);
  b.writeUInt32BE(n, 1);
  return b;
};

for (const [name, front] of [
  ["quick mode", (p: number) => quick(p)],
  ["two sidecars over mTLS", (p: number) => mesh(p)],
] as const) {
  describe(`HTTP/2 upstreams, ${name}`, () => {
    it("keeps END_STREAM on a trailers-only HEADERS frame (no DATA frame after it)", async () => {
      const up = await h2Upstream((stream) =>
        stream.respond(
          { ":status": 200, "content-type": "application/grpc", "grpc-status": "12", "grpc-message": "nope" },
          { endStream: true },
        ),
      );
      const r = await exchange(connect(await front(up.port)), {});
      expect(r.headers["grpc-status"]).toBe("12");
      expect(r.headersFlags & constants.NGHTTP2_FLAG_END_STREAM).toBe(constants.NGHTTP2_FLAG_END_STREAM);
      expect(r.dataFrames).toBe(0);
      expect(r.trailers).toBeNull();
    });

    it("forwards request trailers and response trailers", async () => {
      const up = await h2Upstream((stream) => {
        stream.on("data", () => {});
        stream.on("end", () => {
          stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
          stream.on("wantTrailers", () =>
            stream.sendTrailers({ "grpc-status": "0", "x-resp-trailer": "t2" }),
          );
          stream.end(grpcFrame(3));
        });
      });
      const r = await exchange(connect(await front(up.port)), {}, (req) => {
        req.on("wantTrailers", () => req.sendTrailers({ "x-req-trailer": "t1" }));
        req.end(grpcFrame(10));
      });
      expect(up.seen.trailers.map((t) => t["x-req-trailer"])).toEqual(["t1"]);
      expect(r.trailers?.["grpc-status"]).toBe("0");
      expect(r.trailers?.["x-resp-trailer"]).toBe("t2");
      expect(r.bytes).toBe(8);
    });

    it("ends the upstream stream when the client half-closes having sent nothing", async () => {
      const up = await h2Upstream((stream) => {
        let n = 0;
        stream.on("data", (d: Buffer) => (n += d.length));
        stream.on("end", () =>
          stream.respond({ ":status": 200, "grpc-status": "0", "x-got": String(n) }, { endStream: true }),
        );
      });
      const r = await exchange(connect(await front(up.port)), {}, (req) => req.end());
      expect(r.headers["x-got"]).toBe("0");
      expect(r.headers["grpc-status"]).toBe("0");
    });

    it("gives a slow client every byte of a 10 MB stream, with bounded proxy memory", async () => {
      const total = 10 * 1024 * 1024;
      const up = await h2Upstream((stream) => {
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        const chunk = Buffer.alloc(64 * 1024, 7);
        let left = total;
        const pump = () => {
          while (left > 0) {
            left -= chunk.length;
            if (!stream.write(chunk)) return void stream.once("drain", pump);
          }
          stream.end();
        };
        pump();
      });
      const proxy = await front(up.port);
      const rssBefore = process.memoryUsage.rss();
      const r = await exchange(connect(proxy), {}, undefined, { slow: true });
      expect(r.error).toBeNull();
      expect(r.bytes).toBe(total);
      expect(r.trailers?.["grpc-status"]).toBe("0");
      // Proxy, upstream and client share this process: a proxy that buffered the stream would add ≥10 MB.
      expect(process.memoryUsage.rss() - rssBefore).toBeLessThan(48 * 1024 * 1024);
    }, 30_000);

    it("cancels the upstream stream with RST_STREAM CANCEL (8) when the client cancels", async () => {
      let started!: () => void;
      const upstreamStarted = new Promise<void>((r) => (started = r));
      const up = await h2Upstream((stream) => {
        stream.respond({ ":status": 200, "content-type": "application/grpc" });
        stream.write(grpcFrame(1));
        started();
      });
      const session = connect(await front(up.port));
      const req = session.request({
        ":method": "POST",
        ":path": "/svc/Stream",
        "content-type": "application/grpc",
        te: "trailers",
      });
      req.on("error", () => {});
      req.on("data", () => {});
      await upstreamStarted;
      await new Promise((r) => req.once("response", r));
      req.close(constants.NGHTTP2_CANCEL);
      await expect.poll(() => up.seen.closed.length).toBe(1);
      expect(up.seen.closed[0]!.rstCode).toBe(constants.NGHTTP2_CANCEL);
    });

    it("answers DEADLINE_EXCEEDED when the caller's grpc-timeout passes, and cancels upstream", async () => {
      const up = await h2Upstream(() => {
        /* never answers */
      });
      const proxy = await front(up.port);
      const t0 = performance.now();
      const r = await exchange(connect(proxy), { "grpc-timeout": "200m" }, (req) => req.end(grpcFrame(0)));
      const took = performance.now() - t0;
      expect(r.headers["grpc-status"]).toBe("4");
      expect(r.headersFlags & constants.NGHTTP2_FLAG_END_STREAM).toBe(constants.NGHTTP2_FLAG_END_STREAM);
      expect(took).toBeGreaterThanOrEqual(190);
      expect(took).toBeLessThan(3000);
      await expect.poll(() => up.seen.closed.map((c) => c.rstCode)).toEqual([constants.NGHTTP2_CANCEL]);
      // Recorded as what the caller saw: DEADLINE_EXCEEDED is HTTP 504.
      expect(await metrics(proxy)).toMatch(
        /trellis_requests_total\{direction="outbound",[^}]*protocol="grpc",response_code="504"\} 1/,
      );
    });

    it("multiplexes concurrent calls on one upstream connection", async () => {
      const up = await h2Upstream((stream) => {
        setTimeout(() => stream.respond({ ":status": 200, "grpc-status": "0" }, { endStream: true }), 100);
      });
      const proxy = await front(up.port);
      const session = connect(proxy);
      const rs = await Promise.all(Array.from({ length: 20 }, () => exchange(session, {})));
      for (const r of rs) expect(r.headers["grpc-status"]).toBe("0");
      expect(up.seen.maxOpen).toBe(20);
      expect(up.seen.sessions).toBe(1);
      // Every stream given back: nothing stays "busy" once the calls are done.
      const clusters = (await (
        await fetch(`http://127.0.0.1:${proxy.addresses.admin!.port}/clusters`)
      ).json()) as {
        clusters: {
          endpoints: { activeRequests: number; h2: { sessions: number; activeStreams: number } | null }[];
        }[];
      };
      const ep = clusters.clusters[0]!.endpoints[0]!;
      expect(ep.activeRequests).toBe(0);
      expect(ep.h2).toEqual({ sessions: 1, activeStreams: 0 });
    });

    it("stays within the upstream's SETTINGS_MAX_CONCURRENT_STREAMS", async () => {
      const up = await h2Upstream(
        (stream) =>
          setTimeout(() => stream.respond({ ":status": 200, "grpc-status": "0" }, { endStream: true }), 50),
        { maxConcurrentStreams: 3 },
      );
      const session = connect(await front(up.port));
      // Let the upstream's SETTINGS reach the proxy first: one call opens the connection.
      await exchange(session, {});
      const rs = await Promise.all(Array.from({ length: 12 }, () => exchange(session, {})));
      for (const r of rs) expect(r.headers["grpc-status"]).toBe("0");
      expect(rs.every((r) => r.rstCode === 0)).toBe(true);
      // Per connection at most 3; more connections may open to carry the rest.
      expect(up.seen.maxOpen / up.seen.sessions).toBeLessThanOrEqual(3);
    });

    for (const [how, cut] of [
      ["resets the stream", (s: ServerHttp2Stream) => s.destroy(new Error("upstream gives up"))],
      ["drops the connection", (s: ServerHttp2Stream) => s.session?.destroy()],
    ] as const) {
      it(`resets the client's stream when the upstream ${how} mid-body, and records an error`, async () => {
        const up = await h2Upstream((stream) => {
          stream.respond({ ":status": 200, "content-type": "application/grpc" });
          stream.write(grpcFrame(1000), () => setTimeout(() => cut(stream), 20));
        });
        const proxy = await front(up.port);
        const r = await exchange(connect(proxy), {});
        expect(r.headers[":status"]).toBe(200);
        expect(r.bytes).toBe(1005);
        expect(r.trailers).toBeNull();
        expect(r.rstCode).not.toBe(constants.NGHTTP2_NO_ERROR);
        const m = await metrics(proxy);
        expect(m).not.toMatch(/protocol="grpc",response_code="200"\}/);
        // No grpc-status came: the client sees INTERNAL (a reset stream), recorded as its HTTP pair, 500.
        expect(m).toMatch(/direction="outbound",[^}]*protocol="grpc",response_code="500"\} 1/);
      });
    }
  });
}

describe("no silent truncation over HTTP/1.1 and h2 to an HTTP/1.1 upstream", () => {
  /** An HTTP/1.1 upstream that promises 100 000 bytes, sends 1 000, and drops the connection. */
  async function truncatingUpstream(): Promise<number> {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { "content-length": "100000", "content-type": "application/octet-stream" });
      res.write(Buffer.alloc(1000), () => setTimeout(() => res.socket?.destroy(), 20));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(() => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    });
    return (server.address() as AddressInfo).port;
  }

  it("HTTP/1.1 client: the connection is cut short of content-length; recorded as 502", async () => {
    const proxy = await quick(await truncatingUpstream(), "http1");
    const got = await new Promise<{ status: number; bytes: number; aborted: boolean }>((resolve) => {
      const req = http.get(`http://127.0.0.1:${proxy.addresses.outbound!.port}/big`, (res) => {
        let bytes = 0;
        let aborted = false;
        res.on("data", (d: Buffer) => (bytes += d.length));
        res.on("aborted", () => (aborted = true));
        res.on("error", () => (aborted = true));
        res.on("close", () => resolve({ status: res.statusCode!, bytes, aborted: aborted || !res.complete }));
      });
      req.on("error", () => {});
    });
    expect(got.status).toBe(200);
    expect(got.bytes).toBeLessThan(100_000);
    expect(got.aborted).toBe(true);
    const m = await metrics(proxy);
    expect(m).not.toMatch(/protocol="http1",response_code="200"\}/);
    expect(m).toMatch(/protocol="http1",response_code="502"\} 1/);
  });

  it("h2 client: the stream is reset, never ended as if whole; recorded as 502", async () => {
    const proxy = await quick(await truncatingUpstream(), "http1");
    const session = connect(proxy);
    const r = await new Promise<{ rstCode: number; bytes: number; ended: boolean }>((resolve) => {
      const req = session.request({ ":path": "/big" });
      let bytes = 0;
      let ended = false;
      req.on("data", (d: Buffer) => (bytes += d.length));
      req.on("end", () => (ended = true));
      req.on("error", () => {});
      req.on("close", () => resolve({ rstCode: req.rstCode ?? 0, bytes, ended }));
      req.end();
    });
    expect(r.bytes).toBeLessThan(100_000);
    expect(r.ended).toBe(false);
    expect(r.rstCode).not.toBe(constants.NGHTTP2_NO_ERROR);
    const m = await metrics(proxy);
    expect(m).toMatch(/protocol="http2",response_code="502"\} 1/);
  });
});

describe("stream idle timeout (limits.streamIdleTimeoutMs)", () => {
  const LIMITS = { streamIdleTimeoutMs: 400 };

  it("cuts an HTTP/1.1 response body that stalls, and records it as an error", async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first bytes, then nothing");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(() => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    });
    const proxy = await quick((server.address() as AddressInfo).port, "http1", LIMITS);
    const t0 = performance.now();
    const got = await new Promise<{ complete: boolean }>((resolve) => {
      http
        .get(`http://127.0.0.1:${proxy.addresses.outbound!.port}/`, (res) => {
          res.resume();
          res.on("error", () => {});
          res.on("close", () => resolve({ complete: res.complete }));
        })
        .on("error", () => resolve({ complete: false }));
    });
    expect(got.complete).toBe(false);
    // undici's idle timer ticks coarsely: cut within a few seconds, not never.
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(await metrics(proxy)).toMatch(/protocol="http1",response_code="502"\} 1/);
  });

  it("cuts an HTTP/2 upstream stream that stalls, resetting the client's stream", async () => {
    const up = await h2Upstream((stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" });
      stream.write(grpcFrame(10));
    });
    const proxy = await quick(up.port, "h2c", LIMITS);
    const t0 = performance.now();
    const r = await exchange(connect(proxy), {});
    expect(performance.now() - t0).toBeGreaterThanOrEqual(350);
    expect(r.trailers).toBeNull();
    expect(r.rstCode).not.toBe(constants.NGHTTP2_NO_ERROR);
    await expect.poll(() => up.seen.closed.map((c) => c.rstCode)).toEqual([constants.NGHTTP2_CANCEL]);
    expect(await metrics(proxy)).toMatch(/protocol="grpc",response_code="500"\} 1/);
  });
});

describe("a request body nobody reads", () => {
  it("closes the HTTP/1.1 client's connection after the answer instead of leaving it hanging", async () => {
    // An upstream that answers 503 at once and closes, never reading the body.
    const upstream = (await import("node:net")).createServer((s) => {
      s.once("data", () =>
        s.end("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbusy"),
      );
      s.on("error", () => {});
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise<void>((r) => upstream.close(() => r())));
    const proxy = await quick((upstream.address() as AddressInfo).port, "http1");
    const { rawExchange } = await import("./test-support/apps.js");
    // Announces 1 MB, sends 10 KB, then waits: the answer must come, and the connection must close.
    const r = await rawExchange(
      proxy.addresses.outbound!.port,
      [`POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000\r\n\r\n${"a".repeat(10_000)}`],
      { waitMs: 3000 },
    );
    expect(r.text).toMatch(/^HTTP\/1\.1 50[23] /);
    expect(r.text.toLowerCase()).toContain("connection: close");
    expect(r.closedByServer).toBe(true);
  });
});

describe("HTTP/2 upstreams that cannot be reached", () => {
  it("a refused connection is a connect failure (UNAVAILABLE for gRPC), with its cause", async () => {
    const dead = await freePort();
    const proxy = await quick(dead);
    const r = await exchange(connect(proxy), {});
    expect(r.headers["grpc-status"]).toBe("14");
    expect(r.headers["x-trellis-error"]).toBe("DP_UPSTREAM_CONNECT_FAILURE");
    expect(decodeURIComponent(String(r.headers["grpc-message"]))).toContain("ECONNREFUSED");
  });

  it("a sidecar with the wrong SPIFFE identity is a connect failure, and says whom it expected", async () => {
    // web's certificate, where greeter's was expected.
    const impostor = await calleeSidecar(await freePort(), "web", callerPem);
    const caller = await callerSidecar(impostor);
    const r = await exchange(connect(caller), {});
    expect(r.headers["x-trellis-error"]).toBe("DP_UPSTREAM_CONNECT_FAILURE");
    expect(decodeURIComponent(String(r.headers["grpc-message"]))).toContain(
      "expected spiffe://trellis.test/ns/shop/sa/greeter",
    );
  });
});
