// Retries that replay a request body (layers/replay-body.ts), through real sockets: the upstream records every
// body it received whole, so "the retry sent the same bytes" is what the upstream saw, for Content-Length and
// chunked bodies, bodies still arriving when the first try failed, and bodies over `maxReplayBodyBytes` (tried
// once). The client's connection must stay usable afterwards: its body was read to the end either way.
import { afterEach, describe, expect, it } from "vitest";
import { Readable } from "node:stream";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { IncomingMessage, ServerResponse } from "node:http";
import { startProxy, type ProxyHandle } from "./index.js";
import { client, IDENTITY, rawExchange, startApp, type TestApp } from "./test-support/apps.js";

const L0 = { address: "127.0.0.1", port: 0 };
const apps: TestApp[] = [];
let proxy: ProxyHandle | null = null;
const c = client();

afterEach(async () => {
  await proxy?.close();
  proxy = null;
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

/**
 * What each try does, in order: `503` answers after reading the whole body, `early` answers 503 as soon as the
 * head is in (the body unread), `reset` closes the connection as soon as the head is in, `200` answers after
 * reading the whole body. Tries past the plan get 200.
 */
type Step = "503" | "early" | "reset" | "200";
interface Recorder {
  app: TestApp;
  /** Bodies received whole, one per try that read its body to the end. */
  bodies: string[];
  /** Content-Length / Transfer-Encoding each try came with. */
  framing: string[];
  tries(): number;
}
async function recorder(plan: Step[]): Promise<Recorder> {
  const bodies: string[] = [];
  const framing: string[] = [];
  let n = 0;
  const app = await startApp("rec", (req: IncomingMessage, res: ServerResponse) => {
    const step = plan[n++] ?? "200";
    framing.push(`${req.headers["content-length"] ?? "-"}/${req.headers["transfer-encoding"] ?? "-"}`);
    if (step === "early") {
      res.writeHead(503).end("early");
      return true;
    }
    if (step === "reset") {
      req.socket.destroy();
      return true;
    }
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => {
      const body = Buffer.concat(parts).toString("latin1");
      bodies.push(body);
      if (step === "503") res.writeHead(503).end("no");
      else res.writeHead(200).end(`got ${body.length}`);
    });
    return true;
  });
  apps.push(app);
  return { app, bodies, framing, tries: () => n };
}

async function up(
  endpoints: string[],
  retries: Record<string, unknown>,
  service: Record<string, unknown> = {},
): Promise<number> {
  proxy = await startProxy({
    config: {
      version: "1",
      identity: IDENTITY,
      services: [
        {
          name: "api",
          namespace: "shop",
          mtls: false,
          endpoints: endpoints.map((address) => ({ address })),
          routes: [{ retries: { attempts: 2, backoffBaseMs: 1, backoffMaxMs: 2, ...retries } }],
          ...service,
        },
      ],
    },
    listeners: { outbound: L0, admin: null, inbound: null },
    log: () => {},
  });
  return proxy.addresses.outbound!.port;
}

const body = (n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");

/** A request body that arrives in parts, `gapMs` apart (undici sends it chunked). */
function slowBody(parts: string[], gapMs: number): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < parts.length; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, gapMs));
        yield Buffer.from(parts[i]!);
      }
    })(),
  );
}

describe("retries replay request bodies", () => {
  it("replays a Content-Length POST after a 503: the upstream gets the same bytes twice", async () => {
    const rec = await recorder(["503", "200"]);
    const port = await up([rec.app.address], { retryNonIdempotent: true });
    const sent = body(3000);
    const r = await c.get(port, "/p", { host: "api", "content-type": "text/plain" }, "POST", sent);
    expect(r.status).toBe(200);
    expect(r.text).toBe("got 3000");
    expect(rec.bodies).toEqual([sent, sent]);
    expect(rec.framing).toEqual(["3000/-", "3000/-"]);
  });

  it("replays a chunked PUT (idempotent: no retryNonIdempotent needed)", async () => {
    const rec = await recorder(["503", "503", "200"]);
    const port = await up([rec.app.address], {});
    const parts = ["first part, ", "second part, ", "the end"];
    const r = await c.get(port, "/put", { host: "api" }, "PUT", slowBody(parts, 20) as never);
    expect(r.status).toBe(200);
    expect(rec.bodies).toEqual([parts.join(""), parts.join(""), parts.join("")]);
    expect(rec.tries()).toBe(3);
  });

  it("keeps needing retryNonIdempotent for POST", async () => {
    const rec = await recorder(["503", "200"]);
    const port = await up([rec.app.address], {});
    const r = await c.get(port, "/p", { host: "api" }, "POST", "payload");
    expect(r.status).toBe(503);
    expect(rec.tries()).toBe(1);
  });

  it("replays a body the first try never read, still arriving when that try failed", async () => {
    const rec = await recorder(["early", "200"]);
    const port = await up([rec.app.address], { retryNonIdempotent: true });
    const parts = ["abc", "defgh", "ijklmnop", "qrstuvwxyz"];
    const r = await c.get(port, "/slow", { host: "api" }, "POST", slowBody(parts, 80) as never);
    expect(r.status).toBe(200);
    expect(rec.tries()).toBe(2);
    expect(rec.bodies).toEqual([parts.join("")]); // the early try read nothing; the retry got all of it
  });

  it("replays a Content-Length body sent slowly on a raw socket, and the connection stays usable", async () => {
    const rec = await recorder(["early", "503", "200"]);
    const port = await up([rec.app.address], { retryNonIdempotent: true });
    const r = await rawExchange(
      port,
      [
        "POST /raw HTTP/1.1\r\nHost: api\r\nContent-Length: 20\r\n\r\n0123456789",
        "abcdefghij",
        "GET /next HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n",
      ],
      { gapMs: 150 },
    );
    expect(r.text.match(/HTTP\/1\.1 \d{3} /g)).toEqual(["HTTP/1.1 200 ", "HTTP/1.1 200 "]);
    expect(rec.bodies).toEqual(["0123456789abcdefghij", "0123456789abcdefghij", ""]);
    expect(rec.framing.slice(0, 3)).toEqual(["20/-", "20/-", "20/-"]);
  });

  it("tries a body over maxReplayBodyBytes once, returns its 503, and closes the connection it will not read", async () => {
    const rec = await recorder(["early", "200"]);
    const port = await up([rec.app.address], { retryNonIdempotent: true, maxReplayBodyBytes: 1024 });
    const big = body(4096);
    // The 503 is back before the client sends its second half: the answer says `connection: close` and the
    // proxy closes (as Envoy does), rather than leave the client waiting on a body nobody reads.
    const r = await rawExchange(
      port,
      [
        `POST /big HTTP/1.1\r\nHost: api\r\nContent-Length: ${big.length}\r\n\r\n${big.slice(0, 2048)}`,
        `${big.slice(2048)}GET /next HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n`,
      ],
      { gapMs: 200 },
    );
    expect(r.text.match(/HTTP\/1\.1 \d{3} /g)).toEqual(["HTTP/1.1 503 "]);
    expect(r.text.toLowerCase()).toContain("connection: close");
    expect(r.closedByServer).toBe(true);
    expect(rec.tries()).toBe(1); // the POST once, never retried
  });

  it("closes the client's connection when a try over the limit failed and nothing reads its body any more", async () => {
    const rec = await recorder(["reset", "200"]);
    const port = await up([rec.app.address], { maxReplayBodyBytes: 1024 });
    // Far more than Node buffers for a request nobody reads (16 KiB) plus what the sockets hold.
    const big = body(4 * 1024 * 1024);
    const r = await rawExchange(
      port,
      [
        `PUT /big HTTP/1.1\r\nHost: api\r\nContent-Length: ${big.length}\r\n\r\n${big.slice(0, 2048)}`,
        `${big.slice(2048)}GET /next HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n`,
      ],
      { gapMs: 200 },
    );
    expect(r.text.match(/HTTP\/1\.1 \d{3} /g)).toEqual(["HTTP/1.1 502 "]);
    expect(r.text.toLowerCase()).toContain("connection: close");
    expect(r.closedByServer).toBe(true);
    expect(rec.tries()).toBe(1);
  });

  it("does not retry once a body grows past the limit during a retry, which still gets all of it", async () => {
    const rec = await recorder(["early", "503", "200"]);
    const port = await up([rec.app.address], { retryNonIdempotent: true, maxReplayBodyBytes: 100 });
    const parts = ["x".repeat(60), "y".repeat(60), "z".repeat(60)];
    const r = await c.get(port, "/grow", { host: "api" }, "POST", slowBody(parts, 150) as never);
    expect(r.status).toBe(503);
    expect(rec.tries()).toBe(2);
    expect(rec.bodies).toEqual([parts.join("")]);
  });

  it("with maxReplayBodyBytes 0 never retries a request with a body", async () => {
    const rec = await recorder(["503", "200"]);
    const port = await up([rec.app.address], { maxReplayBodyBytes: 0 });
    expect((await c.get(port, "/put", { host: "api" }, "PUT", "data")).status).toBe(503);
    expect(rec.tries()).toBe(1);
    expect((await c.get(port, "/get", { host: "api" })).status).toBe(200); // body-less requests still retry
    expect(rec.tries()).toBe(2);
  });

  it("replays the body to another endpoint after a connect failure", async () => {
    const dead = await startApp("dead");
    const deadAddress = dead.address;
    await dead.close();
    const rec = await recorder([]);
    const port = await up([deadAddress, rec.app.address], {});
    for (let i = 0; i < 4; i++) {
      const r = await c.get(port, `/d${i}`, { host: "api" }, "PUT", `body ${i}`);
      expect(r.status).toBe(200);
    }
    expect(rec.bodies).toEqual(["body 0", "body 1", "body 2", "body 3"]);
  });

  it("does not retry a request whose body the client botched", async () => {
    const rec = await recorder(["503", "200"]);
    const port = await up([rec.app.address], { retryNonIdempotent: true });
    const r = await rawExchange(
      port,
      ["POST /bad HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "zz\r\n"],
      { gapMs: 150 },
    );
    expect(r.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(rec.bodies).toEqual([]);
    expect(rec.tries()).toBe(1);
  });

  it("replays an HTTP/2 request body (h2c from the app, h2c to the upstream)", async () => {
    const bodies: string[] = [];
    const h2app = http2.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on("data", (d: Buffer) => parts.push(d));
      req.on("end", () => {
        bodies.push(Buffer.concat(parts).toString());
        res.writeHead(bodies.length === 1 ? 503 : 200).end(`try ${bodies.length}`);
      });
    });
    await new Promise<void>((r) => h2app.listen(0, "127.0.0.1", r));
    try {
      const port = await up(
        [`127.0.0.1:${(h2app.address() as AddressInfo).port}`],
        { retryNonIdempotent: true },
        { appProtocol: "h2c" },
      );
      const session = http2.connect(`http://127.0.0.1:${port}`);
      const stream = session.request({ ":method": "POST", ":path": "/h2", ":authority": "api" });
      stream.end("an h2 body");
      const [status, text] = await new Promise<[number, string]>((resolve, reject) => {
        let st = 0;
        let t = "";
        stream.on("response", (h) => (st = Number(h[":status"])));
        stream.on("data", (d: Buffer) => (t += d.toString()));
        stream.on("end", () => resolve([st, t]));
        stream.on("error", reject);
      });
      session.close();
      expect([status, text]).toEqual([200, "try 2"]);
      expect(bodies).toEqual(["an h2 body", "an h2 body"]);
    } finally {
      await proxy?.close(); // its h2 session to the app keeps h2app.close() waiting
      proxy = null;
      await new Promise<void>((r) => h2app.close(() => r()));
    }
  });
});
