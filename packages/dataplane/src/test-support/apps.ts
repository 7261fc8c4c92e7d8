// Small upstream apps for tests, on real sockets.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import net, { type AddressInfo } from "node:net";
import { request as undiciRequest, Agent } from "undici";

export interface TestApp {
  port: number;
  address: string;
  hits: number;
  /** Requests seen, most recent last. */
  seen: { method: string; url: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
  server: http.Server;
}

/**
 * An app that answers JSON `{app, method, url, headers}`. Special paths: `/status/<code>`, `/delay/<ms>`,
 * `/bytes/<n>` (streams n bytes), `/echo` (streams the request body back).
 */
export async function startApp(
  name: string,
  override?: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<TestApp> {
  const app: Partial<TestApp> & { hits: number; seen: TestApp["seen"] } = { hits: 0, seen: [] };
  const server = http.createServer((req, res) => {
    app.hits++;
    app.seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    if (app.seen.length > 1000) app.seen.shift();
    if (override?.(req, res)) return;
    const url = req.url ?? "/";
    let m: RegExpExecArray | null;
    if ((m = /^\/status\/(\d+)/.exec(url))) {
      res.writeHead(Number(m[1]), { "content-type": "text/plain", "x-app": name });
      res.end(`${name} ${m[1]}`);
      return;
    }
    if ((m = /^\/delay\/(\d+)/.exec(url))) {
      setTimeout(() => res.end(JSON.stringify({ app: name })), Number(m[1]));
      return;
    }
    if ((m = /^\/bytes\/(\d+)/.exec(url))) {
      let left = Number(m[1]);
      res.writeHead(200, { "content-type": "application/octet-stream", "x-app": name });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
            res.once("drain", pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    if (url.startsWith("/echo")) {
      res.writeHead(200, {
        "content-type": req.headers["content-type"] ?? "application/octet-stream",
        "x-app": name,
      });
      req.pipe(res);
      return;
    }
    req.resume();
    const body = JSON.stringify({ app: name, method: req.method, url, headers: req.headers });
    res.writeHead(200, { "content-type": "application/json", "x-app": name, "set-cookie": ["a=1", "b=2"] });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(app, {
    port,
    address: `127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  }) as TestApp;
}

/** A client with its own connection pool, so tests do not share keep-alive state. */
export function client() {
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 64 });
  return {
    agent,
    async get(
      port: number,
      path: string,
      headers: Record<string, string> = {},
      method = "GET",
      body?: string | Buffer,
    ) {
      const res = await undiciRequest(`http://127.0.0.1:${port}${path}`, {
        method: method as "GET",
        headers,
        body,
        dispatcher: agent,
      });
      const text = await res.body.text();
      return {
        status: res.statusCode,
        headers: res.headers,
        text,
        json: () => JSON.parse(text) as Record<string, unknown> & { headers: Record<string, string> },
      };
    },
    close: () => agent.close(),
  };
}

export const IDENTITY = { namespace: "shop", service: "web", version: "v1", trustDomain: "trellis.test" };

/** Writes raw bytes to a port and returns everything read until the server closes (or `ms` pass). */
export async function rawRequest(port: number, data: string | Buffer, ms = 3000): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => s.write(data));
    let buf = "";
    const t = setTimeout(() => {
      s.destroy();
      resolve(buf);
    }, ms);
    s.on("data", (d) => (buf += d.toString("latin1")));
    s.on("close", () => {
      clearTimeout(t);
      resolve(buf);
    });
    s.on("error", (e) => {
      clearTimeout(t);
      if (buf) resolve(buf);
      else reject(e);
    });
  });
}

/** Listens on an ephemeral port of 127.0.0.1; resolves with the port. */
export const listen = (s: net.Server) =>
  new Promise<number>((r) => s.listen(0, "127.0.0.1", () => r((s.address() as AddressInfo).port)));

/** A port nothing listens on right now (for listeners a config opens, such as a TCP service's local port). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  const p = await listen(s);
  await new Promise((r) => s.close(r));
  return p;
}
