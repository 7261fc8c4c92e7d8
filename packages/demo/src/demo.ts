// The demo mesh: every app beside its own sidecar (in this process for now: one `startMeshProxy` per workload,
// each with its own listeners, certificate and config stream, exactly as separate processes would have), an
// ingress a browser can open, and the traffic generator.
//
//   browser / generator → ingress gateway :9080 → ingress sidecar (outbound, Host: productpage)
//     ⇒ productpage sidecar → productpage app → its sidecar → details | reviews v1/v2/v3 (→ ratings)
//
// When to edit this: when a workload is added to the demo (its app in apps.ts, one line in `workloads`).
import { createServer, request, type Server } from "node:http";
import { createServer as netServer, type AddressInfo } from "node:net";
import { startMeshProxy, type MeshProxy } from "@trellis/dataplane/mesh";
import {
  callerVia,
  detailsApp,
  productpageApp,
  ratingsApp,
  reviewsApp,
  type App,
  type Caller,
} from "./apps.js";
import { DEMO_NAMESPACE } from "./resources.js";
import { startTraffic, type TrafficGenerator, type TrafficStats } from "./traffic.js";

export const DEFAULT_DEMO_PORT = 9080;
export const DEFAULT_DEMO_RPS = 5;

export interface DemoOptions {
  /** `https://127.0.0.1:15010` */
  controlPlaneUrl: string;
  /** A join token for the namespace `demo` (`createJoinToken(db, SYSTEM_ACTOR, { namespace: "demo" })`). */
  token: string;
  /** Port of the ingress on 127.0.0.1, default 9080; 0 picks a free one. */
  ingressPort?: number;
  /** Front-page requests per second from the traffic generator, default 5; 0 turns it off. */
  rps?: number;
  /** Lines worth showing a person (a sidecar's failures); default: none. */
  log?: (line: string) => void;
}

export interface Demo {
  /** `http://127.0.0.1:<port>`: the front page, through the ingress. */
  ingressUrl: string;
  ingressPort: number;
  rps: number;
  /** The traffic generator's counts so far. */
  traffic(): TrafficStats;
  /** Sidecars by workload (`reviews-v2`), for tests and status lines. */
  sidecars(): ReadonlyMap<string, MeshProxy>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = netServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

interface Ports {
  inbound: number;
  outbound: number;
  admin: number;
}

async function sidecarPorts(): Promise<Ports> {
  return { inbound: await freePort(), outbound: await freePort(), admin: await freePort() };
}

/**
 * The ingress gateway: a browser sends `Host: localhost:9080`, which names no service, so this small forwarder
 * hands each request to the ingress workload's sidecar with `Host: productpage`. From there on it is mesh
 * traffic (mTLS, routing, telemetry as `ingress → productpage`).
 */
async function startGateway(port: number, sidecarOutbound: number): Promise<Server> {
  const server = createServer((req, res) => {
    const headers = { ...req.headers, host: "productpage" };
    const up = request(
      { host: "127.0.0.1", port: sidecarOutbound, method: req.method, path: req.url, headers },
      (ures) => {
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        ures.pipe(res);
      },
    );
    up.on("error", (e) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`demo ingress: the ingress sidecar did not answer (${e.message})`);
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        e.code === "EADDRINUSE"
          ? new Error(`port ${port} on 127.0.0.1 is in use: choose another demo port (--demo-port)`)
          : e,
      ),
    );
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return server;
}

/** Starts the demo mesh; resolves once every sidecar has its first config and the ingress listens. */
export async function startDemo(opts: DemoOptions): Promise<Demo> {
  const rps = opts.rps ?? DEFAULT_DEMO_RPS;
  if (!Number.isFinite(rps) || rps < 0 || rps > 1000)
    throw new Error(`demo rate must be 0–1000 req/s, not ${rps}`);
  const log = opts.log ?? (() => {});
  const stops: (() => Promise<void>)[] = [];
  const sidecars = new Map<string, MeshProxy>();
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
  };

  try {
    // Each workload: its sidecar's ports first (the app needs its outbound port to call others), then the app,
    // then the sidecar in front of it.
    const workload = async (
      service: string,
      version: string,
      makeApp: (call: Caller, onClose: () => void, ports: Ports) => Promise<Pick<App, "port" | "close">>,
    ): Promise<{ ports: Ports; proxy: MeshProxy; app: Pick<App, "port" | "close"> }> => {
      const ports = await sidecarPorts();
      const caller = callerVia(ports.outbound);
      const app = await makeApp(caller.call, caller.close, ports);
      stops.push(() => app.close());
      const proxy = startMeshProxy({
        controlPlaneUrl: opts.controlPlaneUrl,
        token: opts.token,
        node: {
          namespace: DEMO_NAMESPACE,
          service,
          version,
          address: `127.0.0.1:${ports.inbound}`,
          labels: { app: service, demo: "true" },
        },
        app: { port: app.port, address: "127.0.0.1" },
        listeners: {
          inbound: { address: "127.0.0.1", port: ports.inbound },
          outbound: { address: "127.0.0.1", port: ports.outbound },
          admin: { address: "127.0.0.1", port: ports.admin },
        },
        drainTimeoutMs: 1_000,
        backoff: { baseMs: 200, maxMs: 5_000 },
        log: (l) => log(`demo ${service}-${version} sidecar: ${l}`),
      });
      stops.push(() => proxy.close());
      sidecars.set(`${service}-${version}`, proxy);
      return { ports, proxy, app };
    };

    const started = await Promise.all([
      workload("details", "v1", () => detailsApp()),
      workload("ratings", "v1", () => ratingsApp()),
      workload("reviews", "v1", (call, close) => reviewsApp("v1", call, close)),
      workload("reviews", "v2", (call, close) => reviewsApp("v2", call, close)),
      workload("reviews", "v3", (call, close) => reviewsApp("v3", call, close)),
      workload("productpage", "v1", (call, close) => productpageApp(call, close)),
    ]);
    // The ingress workload: its "app" is the gateway (nothing calls it through the mesh); the gateway sends every
    // request to this workload's sidecar's outbound listener.
    const ingress = await workload("ingress", "v1", async (_call, close, ports) => {
      const gateway = await startGateway(opts.ingressPort ?? DEFAULT_DEMO_PORT, ports.outbound);
      return {
        port: (gateway.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((resolve) => {
            close();
            gateway.close(() => resolve());
            gateway.closeAllConnections();
          }),
      };
    });
    const gatewayPort = ingress.app.port;

    await Promise.all([...started, ingress].map((w) => w.proxy.ready));

    const ingressUrl = `http://127.0.0.1:${gatewayPort}`;
    const traffic: TrafficGenerator = startTraffic({ url: `${ingressUrl}/productpage`, rps });
    stops.push(() => traffic.stop());

    return {
      ingressUrl,
      ingressPort: gatewayPort,
      rps,
      traffic: () => traffic.stats(),
      sidecars: () => sidecars,
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
