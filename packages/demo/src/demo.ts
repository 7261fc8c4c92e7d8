// The demo mesh: every app beside its own sidecar (in this process for now: one `startMeshProxy` per workload,
// each with its own listeners, certificate and config stream, exactly as separate processes would have), an
// ingress a browser can open, and the traffic generator.
//
//   browser / generator → ingress gateway :9080 → ingress sidecar (outbound, Host: productpage)
//     ⇒ productpage sidecar → productpage app → its sidecar → details | reviews v1/v2/v3 (→ ratings)
//   browser / generator → ingress gateway /feed (WebSocket) → ingress sidecar (Host: feed)
//     ⇒ feed sidecar → feed app → its sidecar ⇒ (gRPC over h2c, h2 between sidecars) ratings
//
// HTTP/1.1 carries most calls; reviews v2 asks ratings over HTTP/1.1, reviews v3 and the feed over gRPC; the
// feed is a WebSocket. The sidecars report each call's protocol, so all three show up in the graph.
//
// When to edit this: when a workload is added to the demo (its app in apps.ts, one line in `workloads`).
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import { connect, createServer as netServer, type AddressInfo, type Socket } from "node:net";
import { startMeshProxy, type MeshProxy } from "@trellis/dataplane/mesh";
import {
  callerVia,
  DEMO_APP_PROTOCOL,
  DEMO_APPS,
  demoApp,
  FEED_PATH,
  ratingsVia,
  type App,
  type Clients,
  type DemoAppName,
} from "./apps.js";
import { target, type Reach } from "./reach.js";
import { DEMO_NAMESPACE } from "./resources.js";
import { DemoFaults } from "./faults.js";
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
  /** The workloads' fault switches (`trellis demo fail`): every app but the ingress's gateway has one. */
  faults: DemoFaults;
  /** Sidecars by workload (`reviews-v2`), for tests and status lines. */
  sidecars(): ReadonlyMap<string, MeshProxy>;
  stop(): Promise<void>;
}

/**
 * `n` distinct free ports on 127.0.0.1, all held open at once while they are chosen (so none is handed out
 * twice) and released together just before the sidecars bind them. The apps already hold their own ports.
 */
async function reservePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof netServer>>((resolve, reject) => {
          const s = netServer();
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

interface Ports {
  inbound: number;
  outbound: number;
  admin: number;
}

/** Which service the ingress sends a path to: the feed's WebSocket, else the front page. */
function ingressService(url: string | undefined): string {
  const path = (url ?? "/").split("?")[0];
  return path === FEED_PATH ? "feed" : "productpage";
}

/**
 * An Upgrade (the feed's WebSocket) through the gateway: the request head goes to `feed` (as `reach` says:
 * the ingress sidecar with `Host: feed`, or by name), then bytes flow both ways untouched; the sidecar answers
 * the upgrade and joins the connections.
 */
function forwardUpgrade(req: IncomingMessage, client: Socket, head: Buffer, reach: Reach): void {
  const to = target(reach, ingressService(req.url));
  const up = connect(to.port, to.host);
  const close = () => {
    client.destroy();
    up.destroy();
  };
  up.on("error", close);
  client.on("error", close);
  up.on("close", close);
  client.on("close", close);
  up.on("connect", () => {
    let h = `${req.method} ${req.url} HTTP/1.1\r\nhost: ${to.authority}\r\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2)
      if (req.rawHeaders[i]!.toLowerCase() !== "host")
        h += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    up.write(`${h}\r\n`);
    if (head.length > 0) up.write(head);
    client.pipe(up);
    up.pipe(client);
  });
}

/**
 * The ingress gateway: a browser sends `Host: localhost:9080`, which names no service, so this small forwarder
 * hands each request to `productpage` (`/feed`: to `feed`, a WebSocket) as `reach` says: to the ingress
 * workload's sidecar with `Host: productpage`, or by name (`productpage.demo:9080`, which the ingress pod's
 * sidecar captures). From there on it is mesh traffic (mTLS, routing, telemetry as `ingress → productpage`).
 */
export async function startGateway(port: number, reach: Reach, host = "127.0.0.1"): Promise<Server> {
  const server = createServer((req, res) => {
    const to = target(reach, ingressService(req.url));
    const headers = { ...req.headers, host: to.authority };
    const up = request(
      { host: to.host, port: to.port, method: req.method, path: req.url, headers },
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
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) =>
    forwardUpgrade(req, socket, head, reach),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        e.code === "EADDRINUSE"
          ? new Error(`port ${port} on ${host} is in use: choose another port for the demo's ingress`)
          : e,
      ),
    );
    server.listen(port, host, () => resolve());
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
  const faults = new DemoFaults(DEMO_NAMESPACE);
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
  };

  try {
    // First every app, each holding its port, with a caller that reads its sidecar's outbound port once known.
    type Workload = {
      service: string;
      version: string;
      app: Pick<App, "port" | "close">;
      /** How the app speaks, as its sidecar is told: h2c for gRPC servers. */
      appProtocol: "http1" | "h2c";
      ports: Ports | null;
    };
    const workload = async (
      service: string,
      version: string,
      makeApp: (clients: Clients, reach: Reach) => Promise<Pick<App, "port" | "close">>,
      appProtocol: "http1" | "h2c" = "http1",
    ): Promise<Workload> => {
      const w: Workload = {
        service,
        version,
        app: { port: 0, close: async () => {} },
        appProtocol,
        ports: null,
      };
      const outbound = () => w.ports?.outbound ?? 0;
      const reach: Reach = { via: "sidecar", outboundPort: outbound };
      const caller = callerVia(reach);
      const ratings = ratingsVia(reach);
      // The app's own spans go to its sidecar's admin listener (known once the sidecars' ports are).
      const spans = () => (w.ports ? `http://127.0.0.1:${w.ports.admin}/v1/traces` : undefined);
      w.app = await makeApp({ call: caller.call, getRating: ratings.getRating, spans }, reach);
      stops.push(async () => {
        caller.close();
        ratings.close();
        await w.app.close();
      });
      return w;
    };
    const apps = (Object.keys(DEMO_APPS) as DemoAppName[]).flatMap((name) =>
      name === "ingress" ? [] : DEMO_APPS[name].map((version) => ({ name, version })),
    );
    const workloads = await Promise.all([
      ...apps.map(({ name, version }) =>
        workload(
          name,
          version,
          (c) => demoApp(name, version, c, { fault: faults.switchOf(name, version) }),
          DEMO_APP_PROTOCOL[name],
        ),
      ),
      // The ingress workload: its "app" is the gateway (nothing calls it through the mesh); the gateway sends
      // every request to this workload's sidecar's outbound listener.
      workload("ingress", "v1", async (_clients, reach) => {
        const gateway = await startGateway(opts.ingressPort ?? DEFAULT_DEMO_PORT, reach);
        return {
          port: (gateway.address() as AddressInfo).port,
          close: () =>
            new Promise<void>((resolve) => {
              gateway.close(() => resolve());
              gateway.closeAllConnections();
            }),
        };
      }),
    ]);
    const gatewayPort = workloads.at(-1)!.app.port;

    // Then the sidecars, one per workload, on ports chosen together.
    const free = await reservePorts(workloads.length * 3);
    const proxies = workloads.map((w, i) => {
      const ports = { inbound: free[3 * i]!, outbound: free[3 * i + 1]!, admin: free[3 * i + 2]! };
      w.ports = ports;
      const proxy = startMeshProxy({
        controlPlaneUrls: [opts.controlPlaneUrl],
        token: opts.token,
        node: {
          namespace: DEMO_NAMESPACE,
          service: w.service,
          version: w.version,
          address: `127.0.0.1:${ports.inbound}`,
          labels: { app: w.service, demo: "true" },
        },
        app: { port: w.app.port, address: "127.0.0.1", protocol: w.appProtocol },
        listeners: {
          inbound: { address: "127.0.0.1", port: ports.inbound },
          outbound: { address: "127.0.0.1", port: ports.outbound },
          admin: { address: "127.0.0.1", port: ports.admin },
        },
        drainTimeoutMs: 1_000,
        backoff: { baseMs: 200, maxMs: 5_000 },
        log: (l) => log(`demo ${w.service}-${w.version} sidecar: ${l}`),
      });
      sidecars.set(`${w.service}-${w.version}`, proxy);
      return proxy;
    });
    // Sidecars close together (each drains for up to a second), after the traffic and before the apps.
    stops.push(() => Promise.all(proxies.map((p) => p.close())).then(() => {}));

    await Promise.all(proxies.map((p) => p.ready));

    const ingressUrl = `http://127.0.0.1:${gatewayPort}`;
    const traffic: TrafficGenerator = startTraffic({
      url: `${ingressUrl}/productpage`,
      feedUrl: `ws://127.0.0.1:${gatewayPort}${FEED_PATH}`,
      rps,
    });
    stops.push(() => traffic.stop());

    return {
      ingressUrl,
      ingressPort: gatewayPort,
      rps,
      traffic: () => traffic.stats(),
      faults,
      sidecars: () => sidecars,
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
