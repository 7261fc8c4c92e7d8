// One demo workload on its own, with a stand-in for its sidecar: the app listens where it is told and sends its
// calls to the sidecar's outbound port with Host: <service>; the traffic generator does the same with --via.
// The real sidecars and control plane are in the CLI's compose test (packages/cli/src/compose-run.test.ts).
import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { REVIEWS_HEADER } from "./apps.js";
import { startDemoApp, startTrafficWorkload, type RunningWorkload } from "./workload.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A fake sidecar outbound listener: answers as `reviews-v1` would and records the Host of each call. */
async function fakeSidecar(): Promise<{ port: number; hosts: string[] }> {
  const hosts: string[] = [];
  const server: Server = createServer((req, res) => {
    hosts.push(`${req.headers.host} ${req.url}`);
    if (req.headers.host === "productpage")
      return void res.writeHead(200, { [REVIEWS_HEADER]: "reviews-v1" }).end("page");
    res.writeHead(200, { "content-type": "application/json" });
    res.end(req.headers.host === "reviews" ? '{"version":"v1","reviews":[]}' : '{"author":"W. S."}');
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))));
  return { port: (server.address() as AddressInfo).port, hosts };
}

function get(url: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    })
      .on("error", reject)
      .end();
  });
}

const keep = <T extends RunningWorkload>(w: T): T => (closers.push(() => w.close()), w);

describe("a demo workload on its own", () => {
  it("listens on the given port and calls other services through its sidecar's outbound port", async () => {
    const sidecar = await fakeSidecar();
    const page = keep(
      await startDemoApp({
        name: "productpage",
        version: "v1",
        listen: { port: 0 },
        calls: { outboundPort: sidecar.port },
      }),
    );
    expect(page.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await get(`${page.url}/productpage`);
    expect(r.status).toBe(200);
    expect(r.headers[REVIEWS_HEADER]).toBe("reviews-v1");
    expect(sidecar.hosts.sort()).toEqual(["details /details/0", "reviews /reviews/0"]);
  });

  it("refuses a version the app does not come in", async () => {
    await expect(
      startDemoApp({ name: "details", version: "v2", listen: { port: 0 }, calls: { outboundPort: 1 } }),
    ).rejects.toThrow("the demo's details comes in v1, not v2");
  });

  it("sends the traffic generator's requests via the sidecar, naming the target's host, and serves its counts", async () => {
    const sidecar = await fakeSidecar();
    const traffic = keep(
      await startTrafficWorkload({
        url: "http://productpage/productpage",
        rps: 20,
        via: { host: "127.0.0.1", port: sidecar.port },
        listen: { port: 0 },
      }),
    );
    await expect.poll(() => traffic.stats().ok, { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
    expect(new Set(sidecar.hosts)).toEqual(new Set(["productpage /productpage"]));
    const stats = JSON.parse((await get(`${traffic.url}/stats`)).body) as Record<string, unknown>;
    expect(stats).toMatchObject({ rps: 20, failed: 0, byOutcome: { "reviews-v1": expect.any(Number) } });
  });
});
