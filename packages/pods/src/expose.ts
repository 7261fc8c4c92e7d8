// A port of the root namespace's loopback, offered to pods on the bed's gateway address: a plain TCP relay
// in this process. What listens only on 127.0.0.1 (PostgreSQL, a control plane started with --host 127.0.0.1)
// stays unreachable from anywhere else, and pods reach it at `<gateway>:<port>`. Bytes pass untouched, so TLS
// runs end to end (the server's certificate must name the gateway address).
import { connect, createServer, type Server, type Socket } from "node:net";
import { PodsError } from "./errors.js";

export interface ExposeOptions {
  /** Where connections go, in the root namespace: default host 127.0.0.1. */
  to: { host?: string; port: number };
  /** The port on the gateway address; default `to.port`; 0 picks a free one. */
  port?: number;
}

export interface Exposed {
  /** The address it listens on (for `expose`, the gateway address pods connect to). */
  address: string;
  port: number;
  /** Stops listening and ends every relayed connection. Idempotent. */
  close(): Promise<void>;
}

export function expose(gateway: string, options: ExposeOptions): Promise<Exposed> {
  return relay({ listen: { host: gateway, port: options.port ?? options.to.port }, to: options.to });
}

/**
 * A TCP relay in this process: listens on `listen` (in this process's namespace), connects each caller to `to`.
 * `expose` is one from the gateway to loopback; the other way round, a relay on 127.0.0.1 to a pod's address
 * offers a pod's port to this machine's users (the demo's ingress).
 */
export async function relay(options: {
  listen: { host: string; port: number };
  to: { host?: string; port: number };
}): Promise<Exposed> {
  const target = { host: options.to.host ?? "127.0.0.1", port: options.to.port };
  const { host, port } = options.listen;
  const live = new Set<Socket>();
  const server: Server = createServer({ noDelay: true }, (client) => {
    const upstream = connect({ host: target.host, port: target.port, noDelay: true });
    live.add(client).add(upstream);
    // Either side ending or failing ends both: a relay that half-dies would hold the caller forever.
    const end = () => {
      client.destroy();
      upstream.destroy();
      live.delete(client);
      live.delete(upstream);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new PodsError(
          "PODS_INVALID",
          `cannot offer ${target.host}:${target.port} on ${host}:${port}: ${e.code ?? e.message}`,
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  let closed: Promise<void> | undefined;
  return {
    address: host,
    port: (server.address() as { port: number }).port,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of live) s.destroy();
      })),
  };
}
