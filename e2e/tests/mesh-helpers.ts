// Real mesh parts for e2e journeys: free ports, tiny HTTP apps, `trellis proxy` sidecars joined to the
// control plane `trellis up` started (global-setup.ts), and calls through a sidecar's outbound port.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, request as httpRequest, type Server } from "node:http";
import { createServer as netServer, type AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../packages/cli/bin/trellis.js", import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = netServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** An app answering every request with `body` (and `status`, 200 unless given). */
export async function app(body: string, status = 200): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) =>
    res.writeHead(status, { "content-type": "text/plain" }).end(body),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

export interface Sidecar {
  child: ChildProcess;
  outbound: number;
  output: () => string;
  exited: Promise<number | null>;
}

export async function sidecar(
  namespace: string,
  service: string,
  appPort: number,
  token: string,
  version = "v1",
): Promise<Sidecar> {
  const [inbound, outbound, admin] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      CLI,
      "proxy",
      "--control-plane",
      process.env.E2E_CP_URL!,
      "--namespace",
      namespace,
      "--service",
      service,
      "--version",
      version,
      "--app-port",
      String(appPort),
      "--inbound-port",
      String(inbound),
      "--outbound-port",
      String(outbound),
      "--admin-port",
      String(admin),
    ],
    // The token goes by environment, as the help advises: argv is visible to every user of the machine.
    { env: { ...process.env, TRELLIS_JOIN_TOKEN: token }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, outbound, output: () => output, exited };
}

/** One GET through a sidecar's outbound port to the service named by `host`. Status 0: no answer. */
export function call(outbound: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(
      { host: "127.0.0.1", port: outbound, path: "/", headers: { host }, timeout: 5000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", () => resolve({ status: 0, body: "" }));
    req.end();
  });
}
