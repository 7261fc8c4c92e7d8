// `@trellis/api/testing`: what tests of the REST edge share. `serve()` puts fetch-style handlers (the REST edge,
// `handleRestRequest`) behind a Node HTTP server on 127.0.0.1, as Next.js's route handlers are in production:
// real sockets, real headers, real status codes. The request body is streamed to the handler as Next.js
// streams it (never read ahead), and the bytes the handler pulled are counted, so a test can tell a body
// refused early from one read to the end. `callRest()` is a caller with a bearer token, as a script sends it.
// Other packages' tests (the CLI's) use these too, so there is one copy of each: the server that answers 500
// when a handler throws instead of leaving a test hanging.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export interface TestServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** Request-body bytes handlers have read from their sockets since the server started. */
  bodyBytesRead(): number;
  close(): Promise<void>;
}

function bodyStream(req: IncomingMessage, count: (n: number) => void): ReadableStream<Uint8Array> {
  // Pull-based: a chunk is taken from the socket only when the handler asks for one.
  const it = req[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await it.next();
      if (done) return controller.close();
      count(value.length);
      controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.length));
    },
    async cancel() {
      await it.return?.();
    },
  });
}

function toRequest(req: IncomingMessage, count: (n: number) => void): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (typeof v === "string") headers.set(k, v);
    else if (Array.isArray(v)) for (const x of v) headers.append(k, x);
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(`http://${req.headers.host}${req.url}`, {
    method: req.method!,
    headers,
    ...(hasBody ? { body: bodyStream(req, count), duplex: "half" } : {}),
  } as RequestInit);
}

export function serve(handler: (req: Request) => Promise<Response>): Promise<TestServer> {
  let read = 0;
  const server = createServer((req, res) => {
    handler(toRequest(req, (n) => (read += n)))
      .then(async (r) => {
        res.writeHead(r.status, Object.fromEntries(r.headers));
        res.end(Buffer.from(await r.arrayBuffer()));
      })
      .catch((e: unknown) => {
        // A handler that throws is a bug the test must see, not a hung request.
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(String(e));
      });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        bodyBytesRead: () => read,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      }),
    ),
  );
}

/** Where a test's REST calls go: a server from `serve()`, or the fetch-style handler itself, in process. */
export type RestTarget = TestServer | ((req: Request) => Promise<Response>);

/** A REST answer's JSON body, with the fields a problem document or a list carries typed for assertions. */
export type RestBody = Record<string, unknown> & {
  code?: string;
  items?: Record<string, unknown>[];
  issues?: { path: string; message: string }[];
};

export interface RestReply {
  status: number;
  /** The content-type header (`application/problem+json` for an error). */
  type: string | null;
  body: RestBody;
}

/**
 * Calls `/api/v1{path}` as a script or the CLI would: a bearer `token` (none when undefined), `body` sent as
 * JSON, `headers` added last. Every answer of the REST edge has a JSON body, so one without fails the call.
 */
export async function callRest(
  target: RestTarget,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<RestReply> {
  const url = `${typeof target === "function" ? "http://localhost" : target.url}/api/v1${path}`;
  const init: RequestInit = {
    method,
    headers: {
      ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  };
  const res = typeof target === "function" ? await target(new Request(url, init)) : await fetch(url, init);
  const text = await res.text();
  let parsed: RestBody;
  try {
    parsed = JSON.parse(text) as RestBody;
  } catch {
    throw new Error(`${method} ${path} answered ${res.status} without a JSON body: ${text.slice(0, 200)}`);
  }
  return { status: res.status, type: res.headers.get("content-type"), body: parsed };
}
