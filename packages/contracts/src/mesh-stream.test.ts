// The bounds of what a proxy may say on the mesh stream (issue 15): hello labels and strings, and telemetry
// series, as the control plane checks them.
import { describe, expect, it } from "vitest";
import { LATENCY_BUCKETS_MS, MAX_PROXY_LABELS, ZProxyNode, ZTelemetrySeries } from "./mesh-stream.js";
import { validateProxyConfig } from "./proxy-config.js";

const node = { namespace: "shop", service: "web", version: "v1", address: "10.0.0.1:15006" };
const firstIssue = (r: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) =>
  r.error?.issues[0]?.path.join(".");

describe("ZProxyNode", () => {
  it("takes Kubernetes labels, prefixed or not, and empty values", () => {
    const labels = { app: "web", "trellis.dev/tier": "back-end_1.2", "example.com/empty": "", A1: "Z" };
    expect(ZProxyNode.parse({ ...node, labels }).labels).toEqual(labels);
  });

  it.each([
    ["a key with a space", { "bad key": "x" }],
    ["a key starting with '-'", { "-x": "y" }],
    ["a 64-character name", { ["a".repeat(64)]: "x" }],
    ["an upper-case prefix", { "Example.com/x": "y" }],
    ["a 254-character prefix", { [`${"a".repeat(254)}/x`]: "y" }],
    ["two slashes", { "a/b/c": "y" }],
    ["a value with a space", { app: "white space" }],
    ["a 64-character value", { app: "v".repeat(64) }],
  ])("refuses %s", (_what, labels) => {
    expect(firstIssue(ZProxyNode.safeParse({ ...node, labels }))).toMatch(/^labels/);
  });

  it(`takes at most ${MAX_PROXY_LABELS} labels`, () => {
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]));
    expect(ZProxyNode.safeParse({ ...node, labels: many(MAX_PROXY_LABELS) }).success).toBe(true);
    expect(firstIssue(ZProxyNode.safeParse({ ...node, labels: many(MAX_PROXY_LABELS + 1) }))).toBe("labels");
  });

  it("refuses an address that is not host:port, a proxy version that is not printable, a repeated TCP port", () => {
    expect(firstIssue(ZProxyNode.safeParse({ ...node, address: "nowhere" }))).toBe("address");
    expect(firstIssue(ZProxyNode.safeParse({ ...node, proxyVersion: "1.0\n" }))).toBe("proxyVersion");
    expect(firstIssue(ZProxyNode.safeParse({ ...node, tcpPorts: [5432, 5432] }))).toBe("tcpPorts");
    expect(ZProxyNode.safeParse({ ...node, address: "[::1]:15006", proxyVersion: "0.1.0+abc" }).success).toBe(
      true,
    );
  });

  it("refuses the reserved name `unknown` (telemetry's caller without a name) as namespace, service or version", () => {
    for (const field of ["namespace", "service", "version"] as const)
      expect(firstIssue(ZProxyNode.safeParse({ ...node, [field]: "unknown" }))).toBe(field);
    // A telemetry series still names such a caller.
    expect(
      ZTelemetrySeries.shape.source.safeParse({
        namespace: "unknown",
        service: "unknown",
        version: "unknown",
      }).success,
    ).toBe(true);
  });
});

describe("ZTelemetrySeries", () => {
  const buckets = (n: number) => [n, ...new Array<number>(LATENCY_BUCKETS_MS.length).fill(0)];
  const s = {
    source: { namespace: "shop", service: "web", version: "v1" },
    destination: { namespace: "unknown", service: "unknown", version: "unknown" },
    code: 200,
    reporter: "outbound",
    requests: 5,
    mtlsRequests: 5,
    durationSumMs: 10,
    buckets: buckets(5),
    bytesSent: 0,
    bytesReceived: 0,
  };

  it("takes what a proxy's counters produce", () => {
    expect(ZTelemetrySeries.safeParse(s).success).toBe(true);
  });

  it.each([
    ["mtlsRequests", { mtlsRequests: 6 }],
    ["buckets", { buckets: buckets(4) }],
    ["requests", { requests: 1e12, mtlsRequests: 0, buckets: buckets(1e12) }],
    ["durationSumMs", { durationSumMs: 5 * 8 * 86_400_000 }],
    ["durationSumMs", { durationSumMs: Infinity }],
    ["bytesSent", { bytesSent: 2 ** 46 }],
    ["requests", { requests: -1 }],
    ["source.namespace", { source: { namespace: "Shop/..", service: "web", version: "v1" } }],
  ])("refuses an impossible %s", (path, over) => {
    expect(firstIssue(ZTelemetrySeries.safeParse({ ...s, ...over }))).toBe(path);
  });
});

describe("proxy config", () => {
  it("refuses two TCP services on one local port: the second would take the first one's connections", () => {
    const tcp = (namespace: string, name: string) => ({
      namespace,
      name,
      protocol: "tcp",
      port: 5432,
      mtls: false,
    });
    const r = validateProxyConfig({
      version: "v",
      identity: { namespace: "demo", service: "web", version: "v1", trustDomain: "trellis.local" },
      services: [tcp("demo", "db"), tcp("other", "db")],
    });
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).toContain("tcp port 5432 is services[0]'s");
  });
});
