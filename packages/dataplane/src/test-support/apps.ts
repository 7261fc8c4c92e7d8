// Small upstream apps for tests, on real sockets.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import net, { type AddressInfo, type Socket } from "node:net";
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
export { freePort } from "../testing.js";

/** A TCP relay in front of `targetPort` that records every byte it relays towards the target. */
export interface Tap {
  port: number;
  address: string;
  /** Connections opened to the tap so far. */
  connections: number;
  /** Every byte received from clients (the proxy), in arrival order, all connections together. */
  received(): Buffer;
  /** A position in the record, for `since`. */
  mark(): number;
  /** What each connection sent after `mark`, one string (latin1) per connection that sent anything. */
  since(mark: number): string[];
  close(): Promise<void>;
}

/**
 * Starts a tap: "nothing was forwarded" is then asserted at the TCP level (zero bytes reached the upstream),
 * not inferred from an HTTP server that may not have parsed a partial request.
 */
export async function startTap(targetPort: number): Promise<Tap> {
  const chunks: Buffer[] = [];
  const owners: number[] = [];
  const sockets = new Set<Socket>();
  const tap = { connections: 0 } as Tap;
  const server = net.createServer((client) => {
    const id = tap.connections++;
    const target = net.connect(targetPort, "127.0.0.1");
    sockets.add(client);
    sockets.add(target);
    client.on("data", (d: Buffer) => {
      chunks.push(Buffer.from(d));
      owners.push(id);
      target.write(d);
    });
    client.on("end", () => target.end());
    target.pipe(client);
    const drop = () => {
      client.destroy();
      target.destroy();
      sockets.delete(client);
      sockets.delete(target);
    };
    client.on("error", drop);
    target.on("error", drop);
    client.on("close", drop);
    target.on("close", () => {
      if (!client.writableEnded) client.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(tap, {
    port,
    address: `127.0.0.1:${port}`,
    received: () => Buffer.concat(chunks),
    mark: () => chunks.length,
    since: (mark: number) => {
      const by = new Map<number, string>();
      for (let i = mark; i < chunks.length; i++)
        by.set(owners[i]!, (by.get(owners[i]!) ?? "") + chunks[i]!.toString("latin1"));
      return [...by.values()];
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  });
}

export interface RawExchange {
  /** Everything the server sent, latin1. */
  text: string;
  /** The server closed the connection (FIN or reset) before `waitMs` ran out. */
  closedByServer: boolean;
}

/**
 * Writes `parts` to a port, `gapMs` apart, and reads until the server closes the connection or `waitMs` pass
 * after the last write. Unlike rawRequest it says whether the server closed the connection.
 */
export async function rawExchange(
  port: number,
  parts: (string | Buffer)[],
  opts: { gapMs?: number; waitMs?: number } = {},
): Promise<RawExchange> {
  const { gapMs = 0, waitMs = 1500 } = opts;
  return new Promise<RawExchange>((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let text = "";
    let timer: NodeJS.Timeout | null = null;
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      if (timer !== null) clearTimeout(timer);
      s.destroy();
      resolve({ text, closedByServer });
    };
    s.on("data", (d: Buffer) => (text += d.toString("latin1")));
    s.on("end", () => finish(true));
    s.on("close", () => finish(true));
    s.on("error", () => finish(true));
    s.on("connect", async () => {
      for (let i = 0; i < parts.length; i++) {
        if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
        if (done) return;
        s.write(typeof parts[i] === "string" ? Buffer.from(parts[i] as string, "latin1") : parts[i]!);
      }
      timer = setTimeout(() => finish(false), waitMs);
    });
  });
}
