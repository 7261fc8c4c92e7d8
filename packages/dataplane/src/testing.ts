// Test helpers that other packages' tests (and the data plane's benchmark) share, as
// `@trellis/dataplane/testing` (the proxy itself never imports this file). Node built-ins only (and the
// openssl CLI, for TestPki), so any package's tests may take them.
import net, { type AddressInfo } from "node:net";

export { TestPki, type Pem } from "./test-pki.js";
export { clockTicksPerSecond, cpuPressure, cpuSeconds, markdownTable, median, quantile } from "./measure.js";

/**
 * A port nothing listens on right now, for a listener something else opens later (a proxy's, a config's TCP
 * service, a child process's). Another process may take it in between: only ever for tests.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** `n` distinct free ports, held together while chosen so none is handed out twice. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.on("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
