// AccessPolicies on raw TCP, with real sidecars over mTLS on 127.0.0.1: two callers (reviews, productpage),
// each with its own sidecar and a local port for the `ratings` TCP service, and ratings' sidecar in front of
// a TCP echo app that records every connection it gets. The rules are written as the compiler emits them
// (control-plane compiler/access-policy.ts; see the golden case access-tcp).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import net from "node:net";
import type { AuthorizationRule } from "@trellis/contracts";
import { startProxy, type ProxyHandle } from "./index.js";
import { freePort, listen } from "./test-support/apps.js";
import { TestPki } from "./test-pki.js";
import { tcpAuthz } from "./layers/authz.js";

const TD = "trellis.test";
const L0 = { address: "127.0.0.1", port: 0 };
const pki = new TestPki();
const REVIEWS = `spiffe://${TD}/ns/shop/sa/reviews`;
const PRODUCTPAGE = `spiffe://${TD}/ns/shop/sa/productpage`;

/** The app: echoes, and remembers each connection and the bytes it received. */
const appConnections: { bytes: number }[] = [];
let echoApp: net.Server;
let echoPort = 0;
let ratings: ProxyHandle;
const callers: Record<"reviews" | "productpage", { proxy: ProxyHandle; localPort: number }> = {} as never;
const logLines: string[] = [];
const accessLines: string[] = [];
let configVersion = 0;

function ratingsConfig(authorization: AuthorizationRule[]): Record<string, unknown> {
  return {
    version: `ratings-${++configVersion}`,
    identity: { namespace: "shop", service: "ratings", version: "v1", trustDomain: TD },
    tls: ratingsPem,
    inbound: { appPort: echoPort, tcpPorts: [echoPort], authorization },
    telemetry: { accessLog: true },
  };
}
const ratingsPem = pki.issue(TD, "shop", "ratings");

/** Puts these rules in force on ratings' sidecar. */
function policy(authorization: AuthorizationRule[]): void {
  inboundTcp();
  seen = [];
  const r = ratings.applyConfig(ratingsConfig(authorization));
  expect(r).toMatchObject({ ok: true });
}

/**
 * Connects to the caller's local port for ratings, sends `payload` and waits for it to come back or for the
 * connection to close. `echoed`: what came back.
 */
function exchange(
  caller: keyof typeof callers,
  payload: string,
): Promise<{ echoed: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(callers[caller].localPort, "127.0.0.1");
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
    s.on("error", () => {}); // a reset shows up as close too
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ echoed, closed: true });
    });
  });
}

/** Inbound TCP series on ratings' side since the last `policy()`, as `caller code ×n` (deltas add up). */
let seen: string[] = [];
function inboundTcp(): string[] {
  for (const s of ratings.drainTelemetry())
    if (s.reporter === "inbound" && s.protocol === "tcp")
      seen.push(`${s.source.service} ${s.code} ×${s.requests}`);
  return [...seen].sort();
}

const allowReviews: AuthorizationRule = {
  action: "allow",
  from: { identities: [REVIEWS], namespaces: [], services: [] },
};

beforeAll(async () => {
  echoApp = net.createServer((s) => {
    const c = { bytes: 0 };
    appConnections.push(c);
    s.on("data", (d) => (c.bytes += d.length));
    s.on("error", () => {});
    s.pipe(s);
  });
  echoPort = await listen(echoApp);
  ratings = await startProxy({
    config: ratingsConfig([]),
    listeners: { inbound: L0, outbound: null, admin: null },
    log: (l) => logLines.push(l),
    accessLog: (l) => accessLines.push(l),
  });
  for (const service of ["reviews", "productpage"] as const) {
    const localPort = await freePort();
    const proxy = await startProxy({
      config: {
        version: `${service}-1`,
        identity: { namespace: "shop", service, version: "v1", trustDomain: TD },
        tls: pki.issue(TD, "shop", service),
        services: [
          {
            name: "ratings",
            namespace: "shop",
            protocol: "tcp",
            port: localPort,
            targetPort: echoPort,
            endpoints: [{ address: `127.0.0.1:${ratings.addresses.inbound!.port}` }],
          },
        ],
      },
      listeners: { outbound: L0, inbound: null, admin: null },
      log: () => {},
    });
    callers[service] = { proxy, localPort };
  }
});

afterAll(async () => {
  for (const c of Object.values(callers)) await c.proxy.close();
  await ratings.close();
  echoApp.close();
});

describe("AccessPolicies on raw TCP, through real sidecars", () => {
  it("without rules, every caller's connection reaches the app (the mesh is open)", async () => {
    policy([]);
    expect(await exchange("reviews", "hello from reviews")).toEqual({
      echoed: "hello from reviews",
      closed: false,
    });
    expect(await exchange("productpage", "hello from pp")).toEqual({
      echoed: "hello from pp",
      closed: false,
    });
    await expect.poll(inboundTcp).toEqual(["productpage 0 ×1", "reviews 0 ×1"]);
  });

  it("an allow rule for reviews only: reviews echoes, productpage is closed before any byte reaches the app", async () => {
    policy([allowReviews]);
    logLines.length = 0;
    accessLines.length = 0;
    expect(await exchange("reviews", "ping")).toEqual({ echoed: "ping", closed: false });
    const before = appConnections.length;
    expect(await exchange("productpage", "SELECT * FROM ratings")).toEqual({ echoed: "", closed: true });
    expect(appConnections.length).toBe(before); // the app was never dialed
    // Refused connections are counted as 403 under protocol tcp, like HTTP requests the same rules refuse.
    await expect.poll(inboundTcp).toEqual(["productpage 403 ×1", "reviews 0 ×1"]);
    // Logged at the sidecar with the caller's identity, nothing secret.
    const refusals = logLines.filter((l) => l.includes("DP_FORBIDDEN"));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toContain(PRODUCTPAGE);
    expect(refusals[0]).toContain(`app port ${echoPort}`);
    expect(refusals[0]).not.toMatch(/BEGIN|PRIVATE|SELECT/);
    const denied = accessLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.status === 403);
    expect(denied).toEqual([
      expect.objectContaining({ protocol: "tcp", error: "DP_FORBIDDEN", peer: PRODUCTPAGE, port: echoPort }),
    ]);
  });

  it("a deny rule with paths is applied on its callers alone: it denies productpage over TCP", async () => {
    policy([
      {
        action: "deny",
        from: { identities: [PRODUCTPAGE], namespaces: [], services: [] },
        paths: ["/admin/*"],
      },
    ]);
    const before = appConnections.length;
    expect(await exchange("productpage", "x")).toEqual({ echoed: "", closed: true });
    expect(appConnections.length).toBe(before);
    // No allow rule: everyone the deny rule does not name still gets through.
    expect(await exchange("reviews", "still open")).toEqual({ echoed: "still open", closed: false });
    await expect.poll(inboundTcp).toEqual(["productpage 403 ×1", "reviews 0 ×1"]);
  });

  it("an allow rule with only methods allows nobody over TCP, not even the caller it names", async () => {
    policy([{ ...allowReviews, methods: ["GET"] }]);
    const before = appConnections.length;
    expect(await exchange("reviews", "GET / HTTP/1.1\r\n\r\n")).toEqual({ echoed: "", closed: true });
    expect(await exchange("productpage", "x")).toEqual({ echoed: "", closed: true });
    expect(appConnections.length).toBe(before);
    await expect.poll(inboundTcp).toEqual(["productpage 403 ×1", "reviews 403 ×1"]);
  });

  it("a connection open when a policy arrives is left alone; new ones follow the new rules", async () => {
    policy([]);
    const s = net.connect(callers.productpage.localPort, "127.0.0.1");
    s.setEncoding("utf8");
    const first = new Promise<string>((r) => s.once("data", r));
    s.on("connect", () => s.write("a"));
    expect(await first).toBe("a");
    policy([allowReviews]);
    const second = new Promise<string>((r) => s.once("data", r));
    s.write("b");
    expect(await second).toBe("b");
    s.destroy();
    expect(await exchange("productpage", "c")).toEqual({ echoed: "", closed: true });
  });
});

describe("tcpAuthz (the decision alone)", () => {
  const named: AuthorizationRule["from"] = { identities: [REVIEWS], namespaces: [], services: [] };
  it("is open without rules, and for a caller without identity only rules without `from` match", () => {
    expect(tcpAuthz([])(null)).toBeNull();
    // A caller without a mesh identity (plain text, permissive mTLS) matches like an HTTP caller without one.
    expect(tcpAuthz([{ action: "allow" }])(null)).toBeNull();
    expect(tcpAuthz([{ action: "allow", from: named }])(null)).toMatch(/unauthenticated caller/);
    expect(tcpAuthz([{ action: "deny" }])(REVIEWS)).toMatch(/denied/);
    expect(tcpAuthz([{ action: "deny", from: named }])(null)).toBeNull();
  });
  it("ignores a deny rule's HTTP conditions and never matches an allow rule that has one", () => {
    expect(tcpAuthz([{ action: "deny", from: named, methods: ["POST"] }])(REVIEWS)).toMatch(/denied/);
    expect(tcpAuthz([{ action: "allow", paths: ["/"] }])(REVIEWS)).toMatch(/no allow rule/);
    // One allow rule without HTTP conditions is enough.
    expect(
      tcpAuthz([
        { action: "allow", paths: ["/"] },
        { action: "allow", from: named },
      ])(REVIEWS),
    ).toBeNull();
    // `from: {}` (all lists empty): any caller with an identity.
    const anyAuthenticated: AuthorizationRule = {
      action: "allow",
      from: { identities: [], namespaces: [], services: [] },
    };
    expect(tcpAuthz([anyAuthenticated])(PRODUCTPAGE)).toBeNull();
    expect(tcpAuthz([anyAuthenticated])(null)).not.toBeNull();
  });
});
