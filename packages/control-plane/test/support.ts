// What the control plane's end-to-end tests share: a control plane with a join token and light proxies joined
// to it, free ports, apps that say who they are, and calls made the way an app makes them, through its
// sidecar's outbound listener. Here and not in src/testing.ts (`@trellis/control-plane/testing`): the fixture
// makes join tokens with @trellis/services and keys with the data plane, which the control plane may import in
// its tests only (docs/decisions/010-enforced-boundaries.md).
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Db } from "@trellis/db";
import { createJoinToken, SYSTEM_ACTOR } from "@trellis/services";
import { fetchPinnedCa, generateKeyAndCsr } from "@trellis/dataplane/mesh";
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from "../src/index.js";
import { LightProxy, type LightProxyOptions } from "../src/testing.js";

export { freePort } from "@trellis/dataplane/testing";

/** An app that answers every request with its name, so the caller can see which one served it. */
export async function nameApp(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.writeHead(200, { "content-type": "text/plain" }).end(name));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A call from an app to `service` through its sidecar's outbound listener. A failure is status 0. */
export function callThrough(
  outboundPort: number,
  service: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(
      { host: "127.0.0.1", port: outboundPort, path: "/", headers: { host: service }, timeout: 5000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", (e) => resolve({ status: 0, body: e.message }));
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

/**
 * The mesh secret of the tests that share the package's database (global-setup.ts): the first control plane
 * to start creates the CA and encrypts its key with it, and every later replica must decrypt it.
 */
export const TEST_MESH_SECRET = "test-mesh-secret-test-mesh-secret-0123";

/** What a light proxy joined through the fixture may set: the rest is the fixture's unless given. */
export type JoinOptions = Omit<LightProxyOptions, "url" | "token" | "caPem" | "csrPem"> &
  Partial<Pick<LightProxyOptions, "url" | "token" | "caPem">>;

export interface TestControlPlane {
  /**
   * The control plane; a test that restarts it (close, then start another) assigns the new one here, so that
   * `join` and `close` use it.
   */
  cp: ControlPlane;
  /** A join token for the fixture's namespace, made through @trellis/services as an admin makes one. */
  token: string;
  /** The mesh CA, pinned through `token` as a proxy pins it. */
  caPem: string;
  /** Light proxies joined through `join`, in order; closed by `close`. */
  proxies: LightProxy[];
  /** Another join token, for `namespace`. */
  joinToken(namespace: string): Promise<string>;
  /**
   * A light proxy with a key of its own, connected with the fixture's URL, token and CA unless given. Resolves
   * when its hello is sent (not when it is welcomed or refused).
   */
  join(options: JoinOptions): Promise<LightProxy>;
  /** Closes the proxies, then the control plane. */
  close(): Promise<void>;
}

/**
 * Starts a control plane on a free port (with TEST_MESH_SECRET unless given), makes a join token for
 * `namespace` and pins the CA with it: what every test of the stream needs before its first proxy joins.
 */
export async function startTestControlPlane(
  db: Db,
  namespace: string,
  options: Omit<ControlPlaneOptions, "secret"> & { secret?: string },
): Promise<TestControlPlane> {
  const cp = await startControlPlane({ secret: TEST_MESH_SECRET, port: 0, ...options });
  const joinToken = async (ns: string) => (await createJoinToken(db, SYSTEM_ACTOR, { namespace: ns })).token;
  let token: string;
  let caPem: string;
  try {
    token = await joinToken(namespace);
    caPem = await fetchPinnedCa(cp.url, token);
  } catch (e) {
    await cp.close();
    throw e;
  }
  const fixture: TestControlPlane = {
    cp,
    token,
    caPem,
    proxies: [],
    joinToken,
    async join(opts) {
      const { csrPem } = await generateKeyAndCsr();
      const p = new LightProxy({ url: fixture.cp.url, token, caPem, csrPem, ...opts });
      fixture.proxies.push(p);
      await p.connect();
      return p;
    },
    async close() {
      await Promise.all(fixture.proxies.map((p) => p.close().catch(() => {})));
      await fixture.cp.close();
    },
  };
  return fixture;
}
