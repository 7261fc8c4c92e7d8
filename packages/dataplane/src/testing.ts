// Test helpers that other packages' tests (and the data plane's benchmark) share, as
// `@trellis/dataplane/testing` (the proxy itself never imports this file). Node built-ins only (and the
// openssl CLI, for TestPki), so any package's tests may take them.
import { readFileSync } from "node:fs";
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

/**
 * Node arguments that make a child process append every file an ES module `import` resolves to, one URL a line,
 * to `log` (a resolve hook, which runs on its own thread); `loggedModules(log)` reads them back. How the tests
 * see what a sidecar loads (docs/decisions/018-sidecar-memory.md).
 */
export function moduleLogArgs(log: string): string[] {
  const hooks = `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.startsWith("file:")) appendFileSync(${JSON.stringify(log)}, r.url + "\\n");
  return r;
}`;
  const register = `import { register } from "node:module"; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
  return ["--import", `data:text/javascript,${encodeURIComponent(register)}`];
}

/** The module URLs a child started with `moduleLogArgs(log)` loaded (none when it logged nothing). */
export function loggedModules(log: string): string[] {
  try {
    return readFileSync(log, "utf8").trim().split("\n");
  } catch {
    return [];
  }
}
