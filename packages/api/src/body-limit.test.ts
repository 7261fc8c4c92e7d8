// Request-body limits at the HTTP edge, over real sockets: a 30 MB body, announced by Content-Length or
// streamed chunked, is refused with a 413 problem before any authentication or JSON parsing, and without the
// server reading it to the end.
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb } from "@trellis/db";
import { serve, type TestServer } from "./testing.js";
import {
  CHANGE_UPLOAD_BODY_LIMIT,
  DEFAULT_BODY_LIMIT,
  handleRestRequest,
  handleTrpcRequest,
  withBodyLimit,
} from "./index.js";

const db = createDb(inject("databaseUrl"));
let server: TestServer;
/** Set when the tRPC edge asked for the session, i.e. started authentication work. */
let sessionRead = false;
/** Set when the wrapped route handler (next-auth's, in the console) got the request. */
let innerHandlerRan = false;

beforeAll(async () => {
  const otherRoute = withBodyLimit(async (req: Request) => {
    innerHandlerRan = true;
    return new Response(String((await req.arrayBuffer()).byteLength));
  });
  server = await serve(async (req) => {
    const path = new URL(req.url).pathname;
    if (path.startsWith("/api/v1/")) return handleRestRequest(db, req);
    if (path.startsWith("/api/trpc/"))
      return handleTrpcRequest(db, req, {
        endpoint: "/api/trpc",
        sessionUserId: async () => {
          sessionRead = true;
          return null;
        },
      });
    return otherRoute(req);
  });
});
afterAll(async () => {
  await server?.close();
  await db.$disconnect();
});

const MB30 = 30 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, "a");

interface Outcome {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
  /** Request-body bytes the handlers read while serving this request. */
  serverRead: number;
}

/**
 * POSTs `body` (or `body` bytes of filler) as a client streams it, in 64 KiB writes, and resolves on the
 * response, however much it had sent by then. A raw socket, not node:http's client: the server answers 413
 * with `Connection: close` while the client is still sending, so the client's next write may fail (EPIPE,
 * ECONNRESET) before node:http has parsed the answer already received, and node:http then reports only the
 * error. Like curl, this client stops writing at the first byte of the answer or a failed write, and reads
 * what the server sent.
 */
function post(
  path: string,
  body: number | Buffer,
  opts: { chunked?: boolean; headers?: Record<string, string> } = {},
): Promise<Outcome> {
  const size = typeof body === "number" ? body : body.length;
  const piece = (from: number, n: number) =>
    typeof body === "number"
      ? n === CHUNK.length
        ? CHUNK
        : CHUNK.subarray(0, n)
      : body.subarray(from, from + n);
  const started = Date.now();
  const readBefore = server.bodyBytesRead();
  const url = new URL(path, server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const received: Buffer[] = [];
    let answered = false;
    let failed: Error | null = null;
    socket.on("data", (c: Buffer) => {
      answered = true;
      received.push(c);
    });
    socket.on("error", (e) => {
      failed = e; // a write after the server closed: the answer, if any, is in `received`
    });
    socket.on("close", () => {
      const raw = Buffer.concat(received);
      const head = raw.indexOf("\r\n\r\n");
      if (head < 0) return reject(failed ?? new Error(`no answer (${raw.length} bytes)`));
      const [statusLine, ...lines] = raw.subarray(0, head).toString("latin1").split("\r\n");
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(":");
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      let rest = raw.subarray(head + 4);
      if (headers["transfer-encoding"] === "chunked") {
        const parts: Buffer[] = [];
        for (;;) {
          const eol = rest.indexOf("\r\n");
          const n = parseInt(rest.subarray(0, eol).toString("latin1"), 16);
          if (!(n > 0)) break;
          parts.push(rest.subarray(eol + 2, eol + 2 + n));
          rest = rest.subarray(eol + 2 + n + 2);
        }
        rest = Buffer.concat(parts);
      } else if (headers["content-length"] !== undefined) {
        rest = rest.subarray(0, Number(headers["content-length"]));
      }
      resolve({
        status: Number(statusLine!.split(" ")[1]),
        headers,
        body: rest.toString(),
        ms: Date.now() - started,
        serverRead: server.bodyBytesRead() - readBefore,
      });
    });
    const head = [
      `POST ${url.pathname}${url.search} HTTP/1.1`,
      `host: ${url.host}`,
      "content-type: application/json",
      `origin: ${server.url}`,
      opts.chunked ? "transfer-encoding: chunked" : `content-length: ${size}`,
      ...Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
      "",
      "",
    ].join("\r\n");
    socket.write(head);
    let sent = 0;
    const write = () => {
      while (sent < size && !answered && failed === null) {
        const n = Math.min(CHUNK.length, size - sent);
        const data = piece(sent, n);
        sent += n;
        const ok = opts.chunked
          ? socket.write(Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), data, Buffer.from("\r\n")]))
          : socket.write(data);
        if (!ok) return void socket.once("drain", write);
      }
      if (!answered && failed === null && opts.chunked) socket.write("0\r\n\r\n");
    };
    write();
  });
}

/** A request body is read through a stream that takes one chunk ahead of the reader: no more than that. */
const READ_AHEAD = 256 * 1024;

/** A JSON body of about `size` bytes, as a change upload of that much YAML would be. */
const changeUpload = (size: number) =>
  Buffer.from(JSON.stringify({ title: "big", yaml: "a".repeat(size - 30) }));

function expectRefused(o: Outcome) {
  expect(o.status).toBe(413);
  expect(o.headers["content-type"]).toBe("application/problem+json");
  expect(JSON.parse(o.body)).toMatchObject({ status: 413, code: "PAYLOAD_TOO_LARGE" });
  expect(o.ms).toBeLessThan(5_000);
}

describe("request body limits", () => {
  it("refuses a 30 MB REST body by its Content-Length, before the token is checked, reading none of it", async () => {
    const o = await post("/api/v1/changes", MB30, { headers: { authorization: "Bearer trls_not_a_token" } });
    expectRefused(o);
    expect(o.serverRead).toBeLessThan(READ_AHEAD);
  });

  it("refuses a 30 MB chunked REST body once it passes the limit, without reading the rest", async () => {
    const o = await post("/api/v1/changes", MB30, { chunked: true });
    expectRefused(o);
    expect(o.serverRead).toBeGreaterThan(CHANGE_UPLOAD_BODY_LIMIT);
    expect(o.serverRead).toBeLessThan(CHANGE_UPLOAD_BODY_LIMIT + READ_AHEAD);
  });

  it("refuses a 30 MB tRPC body, Content-Length or chunked, before the session is read", async () => {
    sessionRead = false;
    const declared = await post("/api/trpc/change.create", MB30);
    expectRefused(declared);
    expect(declared.serverRead).toBeLessThan(READ_AHEAD);
    const chunked = await post("/api/trpc/service.list,change.create", MB30, { chunked: true });
    expectRefused(chunked);
    expect(chunked.serverRead).toBeLessThan(CHANGE_UPLOAD_BODY_LIMIT + READ_AHEAD);
    expect(sessionRead).toBe(false);
  });

  it("refuses a 30 MB body to any other route handler (next-auth's) before it runs", async () => {
    innerHandlerRan = false;
    expectRefused(await post("/api/auth/callback/credentials", MB30));
    const chunked = await post("/api/auth/callback/credentials", MB30, { chunked: true });
    expectRefused(chunked);
    expect(chunked.serverRead).toBeLessThan(DEFAULT_BODY_LIMIT + READ_AHEAD);
    expect(innerHandlerRan).toBe(false);
  });

  it("admits the largest legitimate uploads: a 3 MB change, a body at the default limit", async () => {
    // Within the limit the request goes on to authentication, which refuses it for want of a token.
    const upload = changeUpload(3 * 1024 * 1024);
    expect((await post("/api/v1/changes", upload, { chunked: true })).status).toBe(401);
    expect((await post("/api/v1/changes/preview", upload)).status).toBe(401);
    // Elsewhere 1 MiB: the same body to sign-in is refused, one of 1 MiB is not (only found invalid).
    expect((await post("/api/v1/tokens/sign-in", upload)).status).toBe(413);
    expect((await post("/api/v1/tokens/sign-in", changeUpload(DEFAULT_BODY_LIMIT))).status).toBe(422);
    const other = await post("/api/auth/callback/credentials", DEFAULT_BODY_LIMIT, { chunked: true });
    expect(other.status).toBe(200);
    expect(other.body).toBe(String(DEFAULT_BODY_LIMIT));
  });
});
