// Request-body limits at the HTTP edge, over real sockets: a 30 MB body, announced by Content-Length or
// streamed chunked, is refused with a 413 problem before any authentication or JSON parsing, and without the
// server reading it to the end.
import { request } from "node:http";
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
 * response, however much it had sent by then.
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
  return new Promise((resolve, reject) => {
    const url = new URL(path, server.url);
    const req = request(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        origin: server.url,
        ...(opts.chunked ? {} : { "content-length": String(size) }),
        ...opts.headers,
      },
    });
    let answered = false;
    req.on("response", (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
          ms: Date.now() - started,
          serverRead: server.bodyBytesRead() - readBefore,
        }),
      );
    });
    // Once answered, the server may stop reading and close: writing the rest then fails, as it should.
    req.on("error", (e) => {
      if (!answered) reject(e);
    });
    let sent = 0;
    const write = () => {
      while (sent < size && !answered) {
        const n = Math.min(CHUNK.length, size - sent);
        const data = piece(sent, n);
        sent += n;
        if (!req.write(data)) return void req.once("drain", write);
      }
      req.end();
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
