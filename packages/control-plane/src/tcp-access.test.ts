// AccessPolicies on a TCP service, from the resource to the closed connection, with real parts: the mesh CA
// (in PostgreSQL) signs each workload's certificate, the real compiler turns AccessPolicy resources into each
// proxy's config, and real sidecars on 127.0.0.1 carry raw TCP over mTLS to an echo app that records every
// connection it gets. Only the push is left out (mesh.test.ts covers it): configs are applied directly.
import { createServer as netServer, connect, type AddressInfo, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb } from "@trellis/db";
import { parseResourceDocuments } from "@trellis/contracts";
import { startProxy, type ProxyHandle } from "@trellis/dataplane";
import { generateKeyAndCsr } from "@trellis/dataplane/mesh";
import { MeshCa, spiffeId } from "./index.js";
import { compileProxyConfig, type CompileInput, type RegistryService } from "./compiler/index.js";
import { freePort, TEST_MESH_SECRET } from "../test/support.js";

const db = createDb(inject("databaseUrl"));

const appConnections: { bytes: number }[] = [];
let echoApp: Server;
let echoPort = 0;
let ca: MeshCa;
let mysqlInbound = 0;
const tlsOf: Record<string, CompileInput["tls"]> = {};
let mysql: ProxyHandle;
const callers: Record<string, { proxy: ProxyHandle; localPort: number }> = {};
let generation = 0;

/**
 * The registry as seen from one host. In a real mesh each caller runs on its own host and reaches mysql on
 * the same port; here all share 127.0.0.1, so each proxy is given its own local port for mysql.
 */
function registry(mysqlLocalPort: number): { services: RegistryService[] } {
  const td = ca.trustDomain;
  return {
    services: [
      {
        namespace: "data",
        name: "mysql",
        protocol: "tcp",
        port: mysqlLocalPort,
        targetPort: echoPort,
        workloads: [
          {
            id: "mysql-1",
            version: "v1",
            address: `127.0.0.1:${mysqlInbound}`,
            identity: spiffeId(td, "data", "mysql"),
            healthy: true,
          },
        ],
      },
    ],
  };
}

function compile(
  service: string,
  namespace: string,
  localPort: number,
  policies: unknown[],
  inbound?: CompileInput["proxy"]["inbound"],
) {
  const parsed = parseResourceDocuments(policies);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return compileProxyConfig({
    version: `g${++generation}`,
    trustDomain: ca.trustDomain,
    resources: parsed.resources,
    registry: registry(localPort),
    // Callers in shop declare data/mysql: another namespace's TCP service opens a port only where declared.
    proxy: {
      namespace,
      service,
      version: "v1",
      workloadId: `${service}-1`,
      ...(inbound ? { inbound } : { reachable: ["data/mysql"] }),
    },
    tls: tlsOf[service]!,
  });
}

let mysqlLocal = 0;
const mysqlConfig = (policies: unknown[]) =>
  compile("mysql", "data", mysqlLocal, policies, { appPort: echoPort, tcpPorts: [echoPort] });

/** Puts these AccessPolicies (data namespace) in force, compiled, on mysql's sidecar. */
function apply(policies: unknown[]): void {
  expect(mysql.applyConfig(mysqlConfig(policies))).toMatchObject({ ok: true });
}

const accessPolicy = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: "trellis.dev/v1alpha1",
  kind: "AccessPolicy",
  metadata: { name, namespace: "data" },
  spec: { service: "mysql", ...spec },
});

/** What the calling app sees: sends `payload` to mysql through its sidecar, then the echo or the close. */
function exchange(caller: string, payload: string): Promise<{ echoed: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = connect(callers[caller]!.localPort, "127.0.0.1");
    let echoed = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`${caller}: neither echoed nor closed in time`));
    }, 5_000);
    s.setEncoding("utf8");
    s.on("connect", () => s.write(payload));
    s.on("data", (d: string) => {
      echoed += d;
      if (echoed.length >= payload.length) {
        clearTimeout(timer);
        s.destroy();
        resolve({ echoed, closed: false });
      }
    });
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ echoed, closed: true });
    });
  });
}

beforeAll(async () => {
  ca = await MeshCa.loadOrCreate(db, { secret: TEST_MESH_SECRET, trustDomain: "trellis.local" });
  for (const [service, namespace] of [
    ["mysql", "data"],
    ["reviews", "shop"],
    ["productpage", "shop"],
  ] as const) {
    const { keyPem, csrPem } = await generateKeyAndCsr();
    const signed = await ca.signWorkload(csrPem, spiffeId(ca.trustDomain, namespace, service), 3_600_000);
    tlsOf[service] = { certPem: signed.certPem, keyPem, caPem: ca.certPem };
  }
  echoApp = netServer((s) => {
    const c = { bytes: 0 };
    appConnections.push(c);
    s.on("data", (d) => (c.bytes += d.length));
    s.on("error", () => {});
    s.pipe(s);
  });
  echoPort = await new Promise<number>((r) =>
    echoApp.listen(0, "127.0.0.1", () => r((echoApp.address() as AddressInfo).port)),
  );
  mysqlInbound = await freePort();
  mysqlLocal = await freePort();
  mysql = await startProxy({
    config: mysqlConfig([]),
    listeners: { inbound: { address: "127.0.0.1", port: mysqlInbound }, outbound: null, admin: null },
    log: () => {},
  });
  for (const service of ["reviews", "productpage"]) {
    const localPort = await freePort();
    const proxy = await startProxy({
      config: compile(service, "shop", localPort, []),
      listeners: { outbound: { address: "127.0.0.1", port: 0 }, inbound: null, admin: null },
      log: () => {},
    });
    callers[service] = { proxy, localPort };
  }
});

afterAll(async () => {
  for (const c of Object.values(callers)) await c.proxy.close();
  await mysql?.close();
  echoApp?.close();
  await db.$disconnect();
});

describe("AccessPolicies on a TCP service, compiled and enforced by real sidecars", () => {
  it("lets everyone connect while no AccessPolicy targets it", async () => {
    apply([]);
    expect(await exchange("reviews", "hi")).toEqual({ echoed: "hi", closed: false });
    expect(await exchange("productpage", "hi")).toEqual({ echoed: "hi", closed: false });
  });

  it("allows only reviews: productpage's connection is closed and never reaches the app", async () => {
    apply([accessPolicy("only-reviews", { allow: [{ from: [{ service: "reviews", namespace: "shop" }] }] })]);
    expect(await exchange("reviews", "SELECT 1")).toEqual({ echoed: "SELECT 1", closed: false });
    const before = appConnections.length;
    expect(await exchange("productpage", "SELECT 1")).toEqual({ echoed: "", closed: true });
    expect(appConnections.length).toBe(before);
  });

  it("denies productpage by a deny rule with paths, which over TCP applies on its caller alone", async () => {
    apply([
      accessPolicy("no-admin", {
        deny: [{ from: [{ service: "productpage", namespace: "shop" }], paths: ["/admin/*"] }],
      }),
    ]);
    const before = appConnections.length;
    expect(await exchange("productpage", "x")).toEqual({ echoed: "", closed: true });
    expect(appConnections.length).toBe(before);
    expect(await exchange("reviews", "y")).toEqual({ echoed: "y", closed: false });
  });

  it("allows nobody by an allow rule with only methods: a connection has no method", async () => {
    apply([accessPolicy("get-only", { allow: [{ from: [{ namespace: "shop" }], methods: ["GET"] }] })]);
    const before = appConnections.length;
    expect(await exchange("reviews", "GET /")).toEqual({ echoed: "", closed: true });
    expect(await exchange("productpage", "GET /")).toEqual({ echoed: "", closed: true });
    expect(appConnections.length).toBe(before);
  });
});
