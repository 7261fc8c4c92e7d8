// HTTP/1.1 request smuggling and framing, on raw sockets, against both listeners that parse HTTP/1.1 from a
// client: the outbound listener (quick-mode shape: a catch-all plain-text service) and the inbound listener in
// permissive mode (plain text accepted). Between the proxy and the upstream app sits a TCP tap that records
// every byte, so "nothing forwarded" is measured on the wire. Each rejected vector must get one 400 (431 for an
// oversized head) with `connection: close`, the socket must really be closed, a valid request pipelined after
// it must not be processed, and `trellis_bad_requests_total` must count it. Input that is odd but unambiguous
// is accepted, and what the proxy sends upstream for it is checked: one framing, never both CL and TE.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { startProxy, type ProxyHandle } from "./index.js";
import { IDENTITY, rawExchange, startApp, startTap, type Tap, type TestApp } from "./test-support/apps.js";

const L0 = { address: "127.0.0.1", port: 0 };
let app: TestApp;
let tap: Tap;
let proxy: ProxyHandle;
/** Bodies the upstream app received completely, by request line. */
const completed: string[] = [];

const H = "Host: api\r\n";
const POST = `POST /smuggle HTTP/1.1\r\n${H}`;
const CHUNKED = `${POST}Transfer-Encoding: chunked\r\n`;
/** A valid request sent on the same connection right after the vector: it must never be processed. */
const AFTER = `GET /after HTTP/1.1\r\n${H}\r\n`;

interface Vector {
  name: string;
  raw: string;
  /** Expected status: 400 unless said. */
  status?: number;
}

/** Requests the proxy must refuse. Comments say which defence catches each (llhttp, or http1-guard.ts). */
const REJECTED: Vector[] = [
  // Content-Length and Transfer-Encoding together: llhttp refuses whatever the order or the value.
  { name: "CL then TE", raw: `${POST}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n` },
  { name: "TE then CL", raw: `${CHUNKED}Content-Length: 5\r\n\r\n0\r\n\r\n` },
  { name: "TE with Content-Length: 0", raw: `${CHUNKED}Content-Length: 0\r\n\r\n0\r\n\r\n` },
  // Content-Length: llhttp refuses duplicates (even equal ones, as hyper does for unequal ones) and non-digits.
  {
    name: "two Content-Length, same value",
    raw: `${POST}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`,
  },
  {
    name: "two Content-Length, different values",
    raw: `${POST}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`,
  },
  { name: "Content-Length: 1,1", raw: `${POST}Content-Length: 1,1\r\n\r\nx` },
  { name: "Content-Length: +5", raw: `${POST}Content-Length: +5\r\n\r\nhello` },
  { name: "Content-Length: -1", raw: `${POST}Content-Length: -1\r\n\r\n` },
  { name: "Content-Length: 5 5", raw: `${POST}Content-Length: 5 5\r\n\r\nhello` },
  { name: "Content-Length: 0x5 (hex)", raw: `${POST}Content-Length: 0x5\r\n\r\nhello` },
  { name: "Content-Length overflow", raw: `${POST}Content-Length: 99999999999999999999999\r\n\r\nx` },
  { name: "Content-Length empty", raw: `${POST}Content-Length: \r\n\r\n` },
  // Transfer-Encoding obfuscations.
  { name: "TE: xchunked", raw: `${POST}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n` },
  { name: "TE: chunked, identity", raw: `${POST}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n` },
  { name: "TE: identity, chunked", raw: `${POST}Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n` },
  { name: "TE: gzip, chunked", raw: `${POST}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n` },
  { name: "TE: identity", raw: `${POST}Transfer-Encoding: identity\r\n\r\nhello` },
  { name: "TE: chunked in two headers", raw: `${CHUNKED}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n` },
  { name: "TE: chunked, chunked", raw: `${POST}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n` },
  { name: "TE with a space before the colon", raw: `${POST}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n` },
  { name: "TE: <VT>chunked", raw: `${POST}Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n` },
  { name: "TE: chunked<FF>", raw: `${POST}Transfer-Encoding: chunked\x0c\r\n\r\n0\r\n\r\n` },
  {
    name: "TE on an HTTP/1.0 request",
    raw: `POST /smuggle HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  },
  // obs-fold: a header continued on the next line.
  { name: "obs-fold with a space", raw: `GET / HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n` },
  { name: "obs-fold with a tab", raw: `GET / HTTP/1.1\r\n${H}X-A: a\r\n\tb\r\n\r\n` },
  { name: "obs-fold of Transfer-Encoding", raw: `${POST}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n` },
  // Bare LF and bare CR as line endings.
  { name: "bare LF after the request line", raw: `GET / HTTP/1.1\n${H}\r\n` },
  { name: "bare LF after a header", raw: `GET / HTTP/1.1\r\nHost: api\nX-A: b\r\n\r\n` },
  { name: "bare LF ending the head", raw: `GET / HTTP/1.1\r\n${H}\n` },
  { name: "bare LF everywhere", raw: `GET / HTTP/1.1\nHost: api\n\n` },
  { name: "bare CR after a header", raw: `GET / HTTP/1.1\r\nHost: api\rX-A: b\r\n\r\n` },
  { name: "bare CR after the request line", raw: `GET / HTTP/1.1\rHost: api\r\n\r\n` },
  // Chunked bodies: errors found after the head (the request is already on its way).
  { name: "chunk-size overflow", raw: `${CHUNKED}\r\nffffffffffffffffffff\r\nx\r\n0\r\n\r\n` },
  { name: "chunk size not hex", raw: `${CHUNKED}\r\nzz\r\nx\r\n0\r\n\r\n` },
  { name: "chunk size -1", raw: `${CHUNKED}\r\n-1\r\nx\r\n0\r\n\r\n` },
  { name: "chunk size 0x1", raw: `${CHUNKED}\r\n0x1\r\nx\r\n0\r\n\r\n` },
  { name: "chunk size with a trailing space", raw: `${CHUNKED}\r\n1 \r\nx\r\n0\r\n\r\n` },
  { name: "chunk extension with NUL", raw: `${CHUNKED}\r\n1;a\x00b\r\nx\r\n0\r\n\r\n` },
  { name: "chunk extension with an open quote", raw: `${CHUNKED}\r\n1;a="b\r\nx\r\n0\r\n\r\n` },
  { name: "chunk extension ended by bare LF", raw: `${CHUNKED}\r\n1;a\nx\r\n0\r\n\r\n` },
  { name: "no CRLF after chunk data", raw: `${CHUNKED}\r\n1\r\nxy0\r\n\r\n` },
  { name: "bare LF after chunk data", raw: `${CHUNKED}\r\n1\r\nx\n0\r\n\r\n` },
  { name: "bare LF after chunk size", raw: `${CHUNKED}\r\n1\nx\r\n0\r\n\r\n` },
  { name: "valid chunk, then an overflow", raw: `${CHUNKED}\r\n5\r\nhello\r\nffffffffffffffffffff\r\n` },
  {
    name: "Content-Length in the trailer",
    raw: `${CHUNKED}\r\n5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n`,
  },
  // Control characters in header values, invalid header names.
  { name: "NUL in a header value", raw: `GET / HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n` },
  { name: "CR in a header value", raw: `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n` },
  { name: "LF in a header value (bare LF, no fold)", raw: `GET / HTTP/1.1\r\n${H}X-A: a\nb\r\n\r\n` },
  { name: "DEL in a header value", raw: `GET / HTTP/1.1\r\n${H}X-A: a\x7fb\r\n\r\n` },
  { name: "space in a header name", raw: `GET / HTTP/1.1\r\n${H}X A: b\r\n\r\n` },
  { name: "@ in a header name", raw: `GET / HTTP/1.1\r\n${H}X@A: b\r\n\r\n` },
  { name: "NUL in a header name", raw: `GET / HTTP/1.1\r\n${H}X\x00A: b\r\n\r\n` },
  { name: "empty header name", raw: `GET / HTTP/1.1\r\n${H}: b\r\n\r\n` },
  { name: "header line without a colon", raw: `GET / HTTP/1.1\r\n${H}XA\r\n\r\n` },
  // The request line.
  { name: "space in the target", raw: `GET /a b HTTP/1.1\r\n${H}\r\n` },
  { name: "NUL in the target", raw: `GET /a\x00b HTTP/1.1\r\n${H}\r\n` },
  { name: "tab after the method", raw: `GET\t/ HTTP/1.1\r\n${H}\r\n` },
  { name: "lower-case method", raw: `get / HTTP/1.1\r\n${H}\r\n` },
  { name: "HTTP/1.2", raw: `GET / HTTP/1.2\r\n${H}\r\n` },
  { name: "HTTP/2.0 in an HTTP/1 request line", raw: `GET / HTTP/2.0\r\n${H}\r\n` },
  { name: "HTTP/0.9 request line", raw: `GET /\r\n\r\n` },
  // Host: RFC 9112 §3.2 (missing in 1.1, repeated, invalid), and an absolute-form target naming another host.
  { name: "HTTP/1.1 without Host", raw: `GET / HTTP/1.1\r\nX-A: b\r\n\r\n` },
  { name: "two Host headers", raw: `GET / HTTP/1.1\r\nHost: api\r\nHost: evil\r\n\r\n` },
  { name: "Host with a space", raw: `GET / HTTP/1.1\r\nHost: api evil\r\n\r\n` },
  { name: "Host with a path", raw: `GET / HTTP/1.1\r\nHost: api/evil\r\n\r\n` },
  { name: "absolute-form with mismatched Host", raw: `GET http://evil/x HTTP/1.1\r\nHost: api\r\n\r\n` },
  { name: "asterisk-form on GET", raw: `GET * HTTP/1.1\r\n${H}\r\n` },
  // A body on an Upgrade request would be replayed as tunnel data after a 101.
  {
    name: "Upgrade request with a chunked body",
    raw: `GET /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
  },
  // Limits. Node used to drop headers past the count limit from what the proxy saw, not from what llhttp
  // framed the body by: a Transfer-Encoding hidden there made the proxy forward the request without its body.
  {
    name: "head over maxHeaderBytes",
    raw: `GET / HTTP/1.1\r\n${H}X-Big: ${"a".repeat(20_000)}\r\n\r\n`,
    status: 431,
  },
  {
    name: "Transfer-Encoding past the 100th header",
    raw: `${POST}${Array.from({ length: 120 }, (_, i) => `X-${i}: v\r\n`).join("")}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    status: 431,
  },
];

/**
 * Accepted input: what the upstream must get. The proxy re-frames every body (undici sends Content-Length when
 * the whole body is in before the head goes out, else chunked), so a body comes with exactly one of the two.
 */
interface Accepted {
  name: string;
  raw: string;
  target: string;
  body: string;
}
const ACCEPTED: Accepted[] = [
  {
    name: "a Content-Length POST",
    raw: `${POST}Content-Length: 5\r\n\r\nhello`,
    target: "/smuggle",
    body: "hello",
  },
  {
    name: "a chunked POST",
    raw: `${CHUNKED}\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`,
    target: "/smuggle",
    body: "hello world",
  },
  // OWS around a field value is not part of it (RFC 9110 §5.5); Envoy and hyper accept these too.
  {
    name: "Content-Length with spaces around",
    raw: `${POST}Content-Length:  5 \r\n\r\nhello`,
    target: "/smuggle",
    body: "hello",
  },
  {
    name: "TE: <tab>chunked",
    raw: `${POST}Transfer-Encoding:\tchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    target: "/smuggle",
    body: "hello",
  },
  {
    name: "TE: chunked with odd spacing",
    raw: `${POST}Transfer-Encoding:   chunked   \r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    target: "/smuggle",
    body: "hello",
  },
  // Transfer-coding names are case-insensitive (RFC 9112 §7).
  {
    name: "TE: CHUNKED",
    raw: `${POST}Transfer-Encoding: CHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    target: "/smuggle",
    body: "hello",
  },
  {
    name: "chunk extensions (dropped)",
    raw: `${CHUNKED}\r\n5;name=value\r\nhello\r\n0\r\n\r\n`,
    target: "/smuggle",
    body: "hello",
  },
  {
    name: "a chunked trailer (dropped)",
    raw: `${CHUNKED}\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n`,
    target: "/smuggle",
    body: "hello",
  },
  // A hop-by-hop list naming the framing header must not leave the body unframed.
  {
    name: "Connection: content-length",
    raw: `${POST}Connection: content-length\r\nContent-Length: 5\r\n\r\nhello`,
    target: "/smuggle",
    body: "hello",
  },
  {
    name: "a GET with a body",
    raw: `GET /smuggle HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`,
    target: "/smuggle",
    body: "hello",
  },
  {
    name: "HTTP/1.0 with Content-Length",
    raw: `POST /smuggle HTTP/1.0\r\n${H}Connection: keep-alive\r\nContent-Length: 5\r\n\r\nhello`,
    target: "/smuggle",
    body: "hello",
  },
  {
    name: "absolute-form naming the Host",
    raw: `GET http://api/abs?q=1 HTTP/1.1\r\n${H}\r\n`,
    target: "/abs?q=1",
    body: "",
  },
  {
    name: "absolute-form with a query and no path",
    raw: `GET http://api?q=1 HTTP/1.1\r\n${H}\r\n`,
    target: "/?q=1",
    body: "",
  },
];

beforeAll(async () => {
  app = await startApp("up", (req, res) => {
    // Answers only once the whole body is in, so a request cut mid-body is never answered.
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => {
      completed.push(`${req.method} ${req.url} ${Buffer.concat(parts).toString("latin1")}`);
      res.end("ok");
    });
    return true;
  });
  tap = await startTap(app.port);
  proxy = await startProxy({
    config: {
      version: "1",
      identity: IDENTITY,
      services: [
        {
          name: "upstream",
          namespace: "default",
          hosts: ["*"],
          mtls: false,
          endpoints: [{ address: tap.address }],
        },
      ],
      inbound: {
        appPort: tap.port,
        mtlsMode: "permissive",
        authorization: [{ action: "deny", paths: ["/admin*"] }],
      },
    },
    listeners: { outbound: L0, inbound: L0, admin: L0 },
    log: () => {},
  });
});
afterAll(async () => {
  await proxy.close();
  await tap.close();
  await app.close();
});

async function badRequests(): Promise<number> {
  const r = await request(`http://127.0.0.1:${proxy.addresses.admin!.port}/stats/prometheus`);
  const m = /^trellis_bad_requests_total (\d+)/m.exec(await r.body.text());
  return m === null ? 0 : Number(m[1]);
}

/** The requests in a byte stream an HTTP/1.1 client sent (the proxy, as the upstream saw it). */
function parseRequests(bytes: string): { line: string; headers: [string, string][]; body: string }[] {
  const out: { line: string; headers: [string, string][]; body: string }[] = [];
  let rest = bytes;
  while (rest.length > 0) {
    const end = rest.indexOf("\r\n\r\n");
    if (end === -1) throw new Error(`incomplete head: ${JSON.stringify(rest)}`);
    const [line, ...fields] = rest.slice(0, end).split("\r\n");
    const headers = fields.map((f) => {
      const c = f.indexOf(":");
      return [f.slice(0, c).toLowerCase(), f.slice(c + 1).trim()] as [string, string];
    });
    rest = rest.slice(end + 4);
    let body = "";
    const cl = headers.find(([n]) => n === "content-length");
    if (headers.some(([n, v]) => n === "transfer-encoding" && v === "chunked")) {
      for (;;) {
        const eol = rest.indexOf("\r\n");
        const size = parseInt(rest.slice(0, eol), 16);
        rest = rest.slice(eol + 2);
        if (size === 0) {
          rest = rest.slice(rest.indexOf("\r\n") + 2); // no trailers are forwarded
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else if (cl !== undefined) {
      body = rest.slice(0, Number(cl[1]));
      rest = rest.slice(Number(cl[1]));
    }
    out.push({ line: line!, headers, body });
  }
  return out;
}

const settle = () => new Promise((r) => setTimeout(r, 60));

const LISTENERS = [
  ["outbound", () => proxy.addresses.outbound!.port],
  ["inbound (permissive, plain text)", () => proxy.addresses.inbound!.port],
] as const;

describe.each(LISTENERS)("%s listener", (_name, port) => {
  it.each(REJECTED)("refuses $name: one answer, connection closed, nothing forwarded", async (v) => {
    // An idle pooled upstream connection, so a request that got through would be written at once (on a cold
    // pool the connect takes long enough to hide a forwarded head).
    const warm = await rawExchange(port(), [`GET /warm HTTP/1.1\r\n${H}Connection: close\r\n\r\n`]);
    expect(warm.text).toMatch(/^HTTP\/1\.1 200 /);
    await settle();
    const mark = tap.mark();
    const hitsBefore = app.hits;
    const countBefore = await badRequests();
    const r = await rawExchange(port(), [v.raw + AFTER]);
    await settle();
    expect(r.text).toMatch(new RegExp(`^HTTP/1\\.1 ${v.status ?? 400} `));
    const head = r.text.slice(0, r.text.indexOf("\r\n\r\n")).toLowerCase();
    expect(head).toContain("\r\nconnection: close");
    expect(head).toContain("\r\nx-trellis-error: dp_bad_request");
    expect(r.text.match(/HTTP\/1\.1 \d{3} /g)).toHaveLength(1); // the pipelined request got no answer
    expect(r.closedByServer).toBe(true);
    expect(tap.since(mark)).toEqual([]); // not one byte reached the upstream
    expect(app.hits).toBe(hitsBefore);
    expect(await badRequests()).toBe(countBefore + 1);
  });

  it.each(ACCEPTED)("accepts $name and forwards it with one framing", async (v) => {
    const mark = tap.mark();
    const r = await rawExchange(port(), [v.raw + AFTER.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n")]);
    await settle();
    // Both requests answered: the pipelined-request assertion above can fail.
    expect(r.text.match(/HTTP\/1\.1 200 /g), r.text).toHaveLength(2);
    // Pipelined requests may go upstream on two connections, in either order.
    const sent = tap
      .since(mark)
      .flatMap(parseRequests)
      .sort((a, b) => (a.line.includes("/after") ? 1 : 0) - (b.line.includes("/after") ? 1 : 0));
    expect(sent.map((s) => s.line)).toEqual([
      `${v.raw.slice(0, v.raw.indexOf(" "))} ${v.target} HTTP/1.1`,
      "GET /after HTTP/1.1",
    ]);
    const names = sent[0]!.headers.map(([n]) => n);
    const te = sent[0]!.headers.filter(([n]) => n === "transfer-encoding");
    const cl = sent[0]!.headers.filter(([n]) => n === "content-length");
    expect(te.length + cl.length).toBeLessThanOrEqual(1); // never both, never twice
    if (v.body === "") expect(te.length + cl.length).toBe(0);
    else if (te.length === 1) expect(te[0]![1]).toBe("chunked");
    else expect(cl).toEqual([["content-length", String(v.body.length)]]);
    expect(names.filter((n) => n === "host")).toHaveLength(1);
    expect(sent[0]!.body).toBe(v.body);
  });

  it("cuts the upstream request when a bad chunk arrives after the head was forwarded", async () => {
    const mark = tap.mark();
    const doneBefore = completed.length;
    const r = await rawExchange(
      port(),
      [`${CHUNKED}\r\n5\r\nhello\r\n`, `ffffffffffffffffffff\r\nx\r\n0\r\n\r\n${AFTER}`],
      { gapMs: 150 },
    );
    await settle();
    expect(r.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(r.text.match(/HTTP\/1\.1 \d{3} /g)).toHaveLength(1);
    expect(r.closedByServer).toBe(true);
    // The head and the first chunk were on their way before the bad one came; the upstream request was cut,
    // so the app never got a complete request, and nothing from after the bad chunk was forwarded.
    const seen = tap.since(mark).join("");
    expect(seen).toContain("POST /smuggle HTTP/1.1");
    expect(seen).not.toContain("/after");
    expect(seen).not.toMatch(/\r\n0\r\n\r\n/);
    expect(completed.length).toBe(doneBefore);
  });
});

describe("inbound listener", () => {
  it("authorizes an absolute-form target by its path, and forwards origin-form", async () => {
    const port = proxy.addresses.inbound!.port;
    const mark = tap.mark();
    const denied = await rawExchange(port, [
      `GET http://api/admin/users HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    ]);
    expect(denied.text).toMatch(/^HTTP\/1\.1 403 /);
    expect(tap.since(mark)).toEqual([]);
    const allowed = await rawExchange(port, [
      `GET http://api/public HTTP/1.1\r\n${H}Connection: close\r\n\r\n`,
    ]);
    expect(allowed.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(tap.since(mark).join("")).toMatch(/^GET \/public HTTP\/1\.1\r\n/);
  });
});

describe("a client's malformed body", () => {
  it("is not held against the upstream endpoint (outlier detection)", async () => {
    const p = await startProxy({
      config: {
        version: "1",
        identity: IDENTITY,
        services: [
          {
            name: "upstream",
            namespace: "default",
            hosts: ["*"],
            mtls: false,
            endpoints: [{ address: tap.address }],
            policy: {
              outlierDetection: { consecutive5xx: 0, consecutiveGatewayFailures: 1, maxEjectionPercent: 100 },
            },
          },
        ],
      },
      listeners: { outbound: L0, inbound: null, admin: null },
      log: () => {},
    });
    try {
      const port = p.addresses.outbound!.port;
      for (let i = 0; i < 2; i++) {
        const bad = await rawExchange(port, [`${CHUNKED}\r\n5\r\nhello\r\n`, `zz\r\n`], { gapMs: 100 });
        expect(bad.text).toMatch(/^HTTP\/1\.1 400 /);
      }
      const ok = await rawExchange(port, [`GET /fine HTTP/1.1\r\n${H}Connection: close\r\n\r\n`]);
      expect(ok.text).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      await p.close();
    }
  });
});

describe("limits.maxHeaders", () => {
  it("cannot change while the proxy runs: the config is refused and the old limit keeps serving", async () => {
    const config = (version: string, maxHeaders: number) => ({
      version,
      identity: IDENTITY,
      services: [
        {
          name: "upstream",
          namespace: "default",
          hosts: ["*"],
          mtls: false,
          endpoints: [{ address: tap.address }],
        },
      ],
      limits: { maxHeaders },
    });
    const p = await startProxy({
      config: config("1", 30),
      listeners: { outbound: L0, inbound: null, admin: null },
      log: () => {},
    });
    try {
      const port = p.addresses.outbound!.port;
      const twelve = `GET / HTTP/1.1\r\n${H}Connection: close\r\n${"X-A: 1\r\n".repeat(10)}\r\n`;
      expect((await rawExchange(port, [twelve])).text).toMatch(/^HTTP\/1\.1 200 /);
      expect(p.applyConfig(config("2", 11))).toEqual({
        ok: false,
        error: expect.stringContaining("limits.maxHeaders: limits cannot change while the proxy runs"),
      });
      expect((await rawExchange(port, [twelve])).text).toMatch(/^HTTP\/1\.1 200 /);
      // The same limits with other routes still apply.
      expect(p.applyConfig(config("3", 30))).toEqual({ ok: true, version: "3" });
      expect((await rawExchange(port, [twelve])).text).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      await p.close();
    }
  });
});
