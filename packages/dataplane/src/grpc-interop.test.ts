// The gRPC project's interoperability cases (doc/interop-test-descriptions.md in grpc/grpc), run with a real
// gRPC implementation (@grpc/grpc-js) on both ends: direct first (so a failure through Trellis is Trellis's),
// then through quick mode and through two sidecars over mTLS — each case on a fresh proxy, and all cases one
// after another on one proxy, as a long-running sidecar carries them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProxy, type ProxyHandle } from "./index.js";
import { quickConfig } from "./config/quick.js";
import { TestPki } from "./test-pki.js";
import { startInteropServer, type InteropServer } from "./test-support/interop/server.js";
import {
  connectInterop,
  INTEROP_CASES,
  INTEROP_CASE_NAMES,
  type InteropTarget,
} from "./test-support/interop/client.js";

const TD = "trellis.test";
const L0 = { address: "127.0.0.1", port: 0 };
const pki = new TestPki();
const clientPem = pki.issue(TD, "interop", "client");
const serverPem = pki.issue(TD, "interop", "server");

let server: InteropServer;

beforeAll(async () => {
  server = await startInteropServer();
});
afterAll(async () => {
  await server.close();
});

/** A way to reach the interop server: start what sits in between, say where to dial, stop it. */
interface Path {
  start(): Promise<{ target: InteropTarget; close(): Promise<void> }>;
}

const direct: Path = {
  async start() {
    return { target: { address: `127.0.0.1:${server.port}` }, close: async () => {} };
  },
};

const quick: Path = {
  async start() {
    const proxy = await startProxy({
      config: quickConfig({ to: `127.0.0.1:${server.port}`, upstreamProtocol: "h2c" }),
      listeners: { outbound: L0, inbound: null, admin: null },
      log: () => {},
    });
    return {
      target: { address: `127.0.0.1:${proxy.addresses.outbound!.port}` },
      close: () => proxy.close(),
    };
  },
};

/** client app → client sidecar (outbound) ══ mTLS h2 ══▶ server sidecar (inbound, app h2c) → server. */
const mesh: Path = {
  async start() {
    const identity = (service: string) => ({ namespace: "interop", service, version: "v1", trustDomain: TD });
    const callee: ProxyHandle = await startProxy({
      config: {
        version: "s1",
        identity: identity("server"),
        tls: serverPem,
        inbound: { appPort: server.port, appProtocol: "h2c" },
      },
      listeners: { inbound: L0, outbound: null, admin: null },
      log: () => {},
    });
    const caller: ProxyHandle = await startProxy({
      config: {
        version: "c1",
        identity: identity("client"),
        tls: clientPem,
        services: [
          {
            name: "server",
            namespace: "interop",
            port: 8080,
            endpoints: [{ address: `127.0.0.1:${callee.addresses.inbound!.port}` }],
          },
        ],
      },
      listeners: { outbound: L0, inbound: null, admin: null },
      log: () => {},
    });
    return {
      target: { address: `127.0.0.1:${caller.addresses.outbound!.port}`, authority: "server:8080" },
      async close() {
        await caller.close();
        await callee.close();
      },
    };
  },
};

function eachCaseOnItsOwn(path: Path): void {
  for (const name of INTEROP_CASE_NAMES) {
    it(name, async () => {
      const p = await path.start();
      const clients = connectInterop(p.target);
      try {
        await INTEROP_CASES[name](clients);
      } finally {
        clients.close();
        await p.close();
      }
    });
  }
}

/** One proxy and one client channel for every case, in order: what a long-running sidecar sees. */
function allCasesInSequence(path: Path): void {
  let p: Awaited<ReturnType<Path["start"]>>;
  let clients: ReturnType<typeof connectInterop>;
  beforeAll(async () => {
    p = await path.start();
    clients = connectInterop(p.target);
  });
  afterAll(async () => {
    clients.close();
    await p.close();
  });
  for (const name of INTEROP_CASE_NAMES) it(name, () => INTEROP_CASES[name](clients));
  it("every case again, after the others", async () => {
    for (const name of INTEROP_CASE_NAMES) await INTEROP_CASES[name](clients);
  });
}

describe("gRPC interop, direct (the reference)", () => eachCaseOnItsOwn(direct));
describe("gRPC interop through quick mode, a proxy per case", () => eachCaseOnItsOwn(quick));
describe("gRPC interop through quick mode, one proxy for all cases", () => allCasesInSequence(quick));
describe("gRPC interop through two sidecars over mTLS, a mesh per case", () => eachCaseOnItsOwn(mesh));
describe("gRPC interop through two sidecars over mTLS, one mesh for all cases", () =>
  allCasesInSequence(mesh));

describe("the interop suite itself", () => {
  it("runs every published case this suite claims, plus its own extras", () => {
    expect(INTEROP_CASE_NAMES).toEqual(
      expect.arrayContaining([
        "empty_unary",
        "large_unary",
        "client_streaming",
        "server_streaming",
        "ping_pong",
        "empty_stream",
        "cancel_after_begin",
        "cancel_after_first_response",
        "timeout_on_sleeping_server",
        "custom_metadata",
        "status_code_and_message",
        "special_status_message",
        "unimplemented_method",
        "unimplemented_service",
        "client_compressed_unary",
        "client_compressed_streaming",
      ]),
    );
  });
});
