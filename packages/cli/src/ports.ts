import { createServer } from "node:net";
import { InvalidArgumentError } from "commander";

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535)
    throw new InvalidArgumentError("must be a port number from 1 to 65535");
  return n;
}

/** `host:port` (IPv6 in brackets: `[::1]:8080`), as flags such as `trellis proxy --listen` take it. */
export function hostPort(value: string): { address: string; port: number } {
  const i = value.lastIndexOf(":");
  const host = i > 0 ? value.slice(0, i).replace(/^\[(.*)\]$/, "$1") : "";
  const p = value.slice(i + 1);
  if (i <= 0 || host === "" || !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) {
    throw new InvalidArgumentError("must be host:port, e.g. 127.0.0.1:8080");
  }
  return { address: host, port: Number(p) };
}

/** Fails early and clearly when a port is taken, rather than after half the stack has started. */
export function assertPortFree(host: string, port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `${what} port ${host}:${port} is not available (${e.code ?? e.message}); choose another with its flag`,
        ),
      ),
    );
    s.listen(port, host, () => s.close(() => resolve()));
  });
}
