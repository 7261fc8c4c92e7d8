// The mesh as an operator runs it: a join token from the REST API, then `trellis proxy --control-plane …`
// beside two real apps, each its own process, against the control plane `trellis up` started. Traffic goes
// app → sidecar → mTLS → sidecar → app, and the registry shows what joined.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, request as httpRequest, type Server } from "node:http";
import { createServer as netServer, type AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { expect, test } from "@playwright/test";
import { ADMIN_TOKEN } from "./fixtures";

const CLI = fileURLToPath(new URL("../../packages/cli/bin/trellis.js", import.meta.url));
const NS = "e2e-mesh";
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = netServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function app(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.writeHead(200, { "content-type": "text/plain" }).end(name));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

interface Sidecar {
  child: ChildProcess;
  outbound: number;
  output: () => string;
  exited: Promise<number | null>;
}

async function sidecar(service: string, appPort: number, token: string): Promise<Sidecar> {
  const [inbound, outbound, admin] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      CLI,
      "proxy",
      "--control-plane",
      process.env.E2E_CP_URL!,
      "--namespace",
      NS,
      "--service",
      service,
      "--version",
      "v1",
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

function call(outbound: number, host: string): Promise<{ status: number; body: string }> {
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

test("two `trellis proxy` sidecars join with a token and carry traffic over mTLS", async ({ request }) => {
  const created = await request.post("/api/v1/join-tokens", { headers: auth, data: { namespace: NS } });
  expect(created.status()).toBe(200);
  const { token } = (await created.json()) as { token: string };

  const apps = [await app("backend-v1"), await app("frontend-v1")];
  const sidecars = [
    await sidecar("backend", apps[0]!.port, token),
    await sidecar("frontend", apps[1]!.port, token),
  ];
  try {
    for (const s of sidecars) await expect.poll(s.output, { timeout: 30_000 }).toContain("in the mesh");
    expect(sidecars[0]!.output()).toContain(`spiffe://trellis.local/ns/${NS}/sa/backend`);
    // frontend's app calls `backend` through its own sidecar; endpoints arrive as backend's proxy registers.
    await expect.poll(async () => (await call(sidecars[1]!.outbound, "backend")).body).toBe("backend-v1");

    const services = await request.get(`/api/v1/services?namespace=${NS}`, { headers: auth });
    const body = (await services.json()) as {
      items: { name: string; versions: string[]; healthyWorkloads: number }[];
    };
    expect(body.items.map((s) => [s.name, s.versions, s.healthyWorkloads]).sort()).toEqual([
      ["backend", ["v1"], 1],
      ["frontend", ["v1"], 1],
    ]);
    // Neither output holds the join token's secret.
    for (const s of sidecars) expect(s.output()).not.toContain(token.split(".")[2]);
  } finally {
    for (const s of sidecars) s.child.kill("SIGTERM");
    const codes = await Promise.all(sidecars.map((s) => s.exited));
    for (const a of apps) a.server.close();
    expect(codes).toEqual([0, 0]);
  }
});

test("a proxy with a foreign or revoked token stops with one clear line", async ({ request }) => {
  const appPort = (await app("nobody")).port;
  const foreign = await sidecar("intruder", appPort, `tj1.${"A".repeat(43)}.${"x".repeat(43)}`);
  expect(await foreign.exited).toBe(1);
  expect(foreign.output().trim().split("\n").at(-1)).toMatch(
    /^trellis: the control plane.s CA does not match the join token/,
  );
  expect(foreign.output()).not.toMatch(/\n\s+at /);

  const created = await request.post("/api/v1/join-tokens", { headers: auth, data: { namespace: NS } });
  const { id, token } = (await created.json()) as { id: string; token: string };
  expect((await request.delete(`/api/v1/join-tokens/${id}`, { headers: auth })).ok()).toBe(true);
  const revoked = await sidecar("intruder", appPort, token);
  expect(await revoked.exited).toBe(1);
  expect(revoked.output().trim().split("\n").at(-1)).toMatch(/^trellis: .*revoked/i);
});
