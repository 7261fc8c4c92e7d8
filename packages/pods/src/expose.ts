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
  /** The gateway address pods connect to. */
  address: string;
  port: number;
  /** Stops listening and ends every relayed connection. Idempotent. */
  close(): Promise<void>;
}

export async function expose(gateway: string, options: ExposeOptions): Promise<Exposed> {
  const target = { host: options.to.host ?? "127.0.0.1", port: options.to.port };
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
  const port = options.port ?? target.port;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new PodsError(
          "PODS_INVALID",
          `cannot offer ${target.host}:${target.port} on ${gateway}:${port}: ${e.code ?? e.message}`,
        ),
      ),
    );
    server.listen(port, gateway, () => resolve());
  });
  let closed: Promise<void> | undefined;
  return {
    address: gateway,
    port: (server.address() as { port: number }).port,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of live) s.destroy();
      })),
  };
}
