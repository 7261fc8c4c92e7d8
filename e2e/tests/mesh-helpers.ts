// Real mesh parts for e2e journeys: free ports, tiny HTTP apps, `trellis proxy` sidecars joined to the
// control plane `trellis up` started (global-setup.ts), workloads (an app beside its sidecar) and calls through
// a sidecar's outbound port.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { expect } from "@playwright/test";
import { freePort } from "@trellis/dataplane/testing";

const CLI = fileURLToPath(new URL("../../packages/cli/bin/trellis.js", import.meta.url));

export { freePort };

/** An app answering every request with `body` (and `status`, 200 unless given). */
export async function app(body: string, status = 200): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) =>
    res.writeHead(status, { "content-type": "text/plain" }).end(body),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * An app that answers each request by calling `host` through its own sidecar, whose outbound port `outbound()`
 * returns (known only once the sidecar is started, after the app). It answers 200 `${body} <- ${upstream body}`
 * when the upstream answered 200, else 503: a failure downstream is this service's failure, as for a page that
 * cannot render without its data. It retries nothing itself.
 */
export async function relayApp(
  body: string,
  host: string,
  outbound: () => number,
): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => {
    void call(outbound(), host).then((r) => {
      if (r.status === 200) res.writeHead(200, { "content-type": "text/plain" }).end(`${body} <- ${r.body}`);
      else res.writeHead(503, { "content-type": "text/plain" }).end(`${body}: ${host} answered ${r.status}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

export interface Sidecar {
  child: ChildProcess;
  outbound: number;
  /** Admin listener: /ready, /stats/prometheus, /config_dump. */
  admin: number;
  output: () => string;
  exited: Promise<number | null>;
}

export async function sidecar(
  namespace: string,
  service: string,
  appPort: number,
  token: string,
  version = "v1",
  controlPlane = process.env.E2E_CP_URL!,
  extraArgs: readonly string[] = [],
): Promise<Sidecar> {
  const [inbound, outbound, admin] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      CLI,
      "proxy",
      "--control-plane",
      controlPlane,
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
      ...extraArgs,
    ],
    // The token goes by environment, as the help advises: argv is visible to every user of the machine.
    { env: { ...process.env, TRELLIS_JOIN_TOKEN: token }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { child, outbound, admin, output: () => output, exited };
}

/** An app started by `app` or `relayApp`. */
export type App = Awaited<ReturnType<typeof app>>;

/**
 * A journey's workloads, each an app beside its own `trellis proxy`, as a pod runs in the mesh. `add` starts the
 * sidecar in front of an app already listening; `joined` waits until every sidecar says it is in the mesh;
 * `stop` (from `afterAll`, or a `finally`) ends the sidecars, waits for them to exit, then closes the apps.
 */
export class Workloads {
  readonly apps: App[] = [];
  readonly sidecars: Sidecar[] = [];

  async add(
    namespace: string,
    service: string,
    beside: App,
    token: string,
    opts: { version?: string; controlPlane?: string; extraArgs?: readonly string[] } = {},
  ): Promise<Sidecar> {
    this.apps.push(beside);
    const s = await sidecar(
      namespace,
      service,
      beside.port,
      token,
      opts.version,
      opts.controlPlane,
      opts.extraArgs,
    );
    this.sidecars.push(s);
    return s;
  }

  async joined(timeout = 60_000): Promise<void> {
    for (const s of this.sidecars) await expect.poll(s.output, { timeout }).toContain("in the mesh");
  }

  /** Resolves with each sidecar's exit code, in the order they were added. */
  async stop(): Promise<(number | null)[]> {
    for (const s of this.sidecars) s.child.kill("SIGTERM");
    const codes = await Promise.all(this.sidecars.map((s) => s.exited));
    for (const a of this.apps) a.server.close();
    return codes;
  }
}

/** One GET through a sidecar's outbound port to the service named by `host`. Status 0: no answer. */
export function call(
  outbound: number,
  host: string,
  path = "/",
  method = "GET",
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(
      { host: "127.0.0.1", port: outbound, path, method, headers: { host }, timeout: 5000 },
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

export interface ControlPlaneProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * A `trellis controlplane` replica of the e2e run's mesh (same database, secret and so CA as `trellis up`'s;
 * see global-setup.ts), on `port`, ready when it says where it listens. Proxies joined to it can be cut off
 * from their control plane while the console, served by `trellis up`, stays up.
 */
export async function controlPlane(port: number): Promise<ControlPlaneProcess> {
  const child = spawn(
    process.execPath,
    [CLI, "controlplane", "--host", "127.0.0.1", "--port", String(port)],
    {
      env: {
        ...process.env,
        DATABASE_URL: process.env.E2E_DATABASE_URL!,
        TRELLIS_SECRET: process.env.E2E_TRELLIS_SECRET!,
        TRELLIS_HOME: process.env.E2E_TRELLIS_HOME!,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const url = `https://127.0.0.1:${port}`;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGTERM"); // not left behind when the caller gives up on it
      reject(new Error(`no control plane within 60 s:\n${output}`));
    }, 60_000);
    const check = () => {
      if (output.includes(`trellis: control plane ${url}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`trellis controlplane exited with ${code}:\n${output}`));
    });
  });
  return { child, url, output: () => output, exited };
}
