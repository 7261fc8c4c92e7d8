// One demo workload on its own, for a sidecar in another process or container beside it (a pod): what
// `trellis demo app` and `trellis demo traffic` run, one per container in docker-compose.yml's demo profile.
// The apps are the ones `trellis up --demo` runs in one process (apps.ts); here each listens where it is told
// and calls other services by name (its sidecar captures them) or through its sidecar's outbound listener on
// this host (same network namespace).
//
// When to edit this: when a workload is added to the demo (its app in apps.ts, one case in startDemoApp).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { callerVia, DEMO_APPS, demoApp, ratingsVia, type DemoAppName, type ListenAt } from "./apps.js";
import { startGateway } from "./demo.js";
import { DEMO_SERVICE_PORT, type Reach } from "./reach.js";
import { startTraffic, type TrafficStats } from "./traffic.js";
import type { FaultSwitch } from "./faults.js";

export interface DemoAppOptions {
  name: DemoAppName;
  version: string;
  /** Where the app listens: default 127.0.0.1, so only its sidecar (same host) reaches it. */
  listen: ListenAt & { port: number };
  /**
   * How the app reaches other services: its sidecar's outbound listener on 127.0.0.1 (`{ outboundPort }`), or
   * by name (`{ namespace }`: `http://details.demo:9080`), when its sidecar captures its traffic.
   */
  calls: { outboundPort: number } | { namespace: string };
  /** Where the app sends spans of its own (OTLP/HTTP traces): its sidecar's admin `/v1/traces`. Default: none. */
  spans?: string;
  /** The app's fault switch (faults.ts), set by whoever started it; absent: it never fails on purpose. */
  fault?: FaultSwitch;
}

export interface RunningWorkload {
  /** `http://host:port` it listens on. */
  url: string;
  close(): Promise<void>;
}

const urlOf = (server: { address(): AddressInfo | string | null }): string => {
  const a = server.address() as AddressInfo;
  return `http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
};

/** Starts one demo app; resolves once it listens. */
export async function startDemoApp(opts: DemoAppOptions): Promise<RunningWorkload> {
  const versions: readonly string[] = DEMO_APPS[opts.name];
  if (!versions.includes(opts.version))
    throw new Error(`the demo's ${opts.name} comes in ${versions.join(", ")}, not ${opts.version}`);
  const at = {
    host: opts.listen.host ?? "127.0.0.1",
    port: opts.listen.port,
    ...(opts.fault ? { fault: opts.fault } : {}),
  };
  const calls = opts.calls;
  const reach: Reach =
    "outboundPort" in calls
      ? { via: "sidecar", outboundPort: () => calls.outboundPort }
      : { via: "name", namespace: calls.namespace, port: DEMO_SERVICE_PORT };
  const caller = callerVia(reach);
  const ratings = ratingsVia(reach);
  const closeClients = () => {
    caller.close();
    ratings.close();
  };
  const spans = opts.spans;
  const clients = { call: caller.call, getRating: ratings.getRating, spans: () => spans };
  try {
    if (opts.name === "ingress") {
      const gateway = await startGateway(at.port, reach, at.host);
      return {
        url: urlOf(gateway),
        close: () => closeServer(gateway).finally(closeClients),
      };
    }
    const app = await demoApp(opts.name, opts.version, clients, at);
    return {
      url: `http://${at.host.includes(":") ? `[${at.host}]` : at.host}:${app.port}`,
      close: () => app.close().finally(closeClients),
    };
  } catch (e) {
    closeClients();
    throw e;
  }
}

export interface TrafficWorkloadOptions {
  /** What to request, e.g. `http://productpage/productpage` (via the sidecar) or `http://localhost:9080/`. */
  url: string;
  /** The live feed's WebSocket, e.g. `ws://feed/feed` (via the sidecar); absent: no WebSocket traffic. */
  feedUrl?: string;
  rps: number;
  /** Connect here instead of to the URL's host: the sidecar's outbound listener. */
  via?: { host: string; port: number };
  /** Serve `GET /stats` (the counts, JSON) and `/health` here; its sidecar's inbound forwards to it. */
  listen?: ListenAt & { port: number };
}

export interface RunningTraffic extends RunningWorkload {
  stats(): TrafficStats;
}

/** The traffic generator as a workload of its own, with its counts readable over HTTP. */
export async function startTrafficWorkload(opts: TrafficWorkloadOptions): Promise<RunningTraffic> {
  const traffic = startTraffic({
    url: opts.url,
    rps: opts.rps,
    ...(opts.feedUrl ? { feedUrl: opts.feedUrl } : {}),
    ...(opts.via ? { via: opts.via } : {}),
  });
  let server: Server | null = null;
  if (opts.listen) {
    server = createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      if (path === "/health") return void res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      if (path === "/stats")
        return void res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ rps: traffic.rps, ...traffic.stats() }));
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /stats");
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server!.once("error", reject);
        server!.listen(opts.listen!.port, opts.listen!.host ?? "127.0.0.1", () => resolve());
      });
    } catch (e) {
      await traffic.stop();
      throw e;
    }
  }
  return {
    url: server ? urlOf(server) : opts.url,
    stats: () => traffic.stats(),
    close: async () => {
      await traffic.stop();
      if (server) await closeServer(server);
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
