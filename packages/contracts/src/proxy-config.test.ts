import { describe, expect, it } from "vitest";
import { validateProxyConfig, formatProxyConfigIssues } from "./proxy-config.js";

const base = {
  version: "1",
  identity: { namespace: "shop", service: "web", version: "v1", trustDomain: "trellis.local" },
};

describe("validateProxyConfig", () => {
  it("fills defaults for a minimal config", () => {
    const r = validateProxyConfig({
      ...base,
      services: [
        { name: "reviews", namespace: "shop", mtls: false, endpoints: [{ address: "127.0.0.1:9080" }] },
      ],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.services[0]!.policy.loadBalancer).toEqual({ type: "roundRobin" });
    expect(r.config.services[0]!.endpoints[0]!.weight).toBe(1);
    expect(r.config.limits.maxHeaders).toBe(100);
    expect(r.config.telemetry.accessLog).toBe(false);
  });

  it("replays request bodies up to 64 KiB by default, and bounds the limit", () => {
    const withRetries = (retries: Record<string, unknown>) =>
      validateProxyConfig({
        ...base,
        services: [{ name: "reviews", namespace: "shop", mtls: false, routes: [{ retries }] }],
      });
    const r = withRetries({ attempts: 2 });
    expect(r.ok && r.config.services[0]!.routes[0]!.retries!.maxReplayBodyBytes).toBe(65_536);
    const off = withRetries({ attempts: 2, maxReplayBodyBytes: 0 });
    expect(off.ok && off.config.services[0]!.routes[0]!.retries!.maxReplayBodyBytes).toBe(0);
    for (const bad of [-1, 1.5, 16_777_217, "64k"]) {
      const b = withRetries({ attempts: 2, maxReplayBodyBytes: bad });
      expect(b.ok).toBe(false);
      if (!b.ok) expect(b.issues[0]!.path).toBe("services[0].routes[0].retries.maxReplayBodyBytes");
    }
  });

  it("refuses header edits and matches a proxy could not send or match (CR/LF, bad names, framing headers)", () => {
    const withRoute = (route: Record<string, unknown>) =>
      validateProxyConfig({
        ...base,
        services: [{ name: "reviews", namespace: "shop", mtls: false, routes: [route] }],
      });
    const bad = withRoute({
      requestHeaders: { set: { "x-a": "v\r\nx-evil: 1", "content-length": "5" } },
      responseHeaders: { add: { "bad name": "1" } },
      match: { headers: [{ name: "x\ny" }] },
    });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.issues.map((i) => i.path).sort()).toEqual([
      "services[0].routes[0].match.headers[0].name",
      "services[0].routes[0].requestHeaders.set.content-length",
      "services[0].routes[0].requestHeaders.set.x-a",
      "services[0].routes[0].responseHeaders.add.bad name",
    ]);
    expect(withRoute({ requestHeaders: { set: { "x-a": "v 1" } } }).ok).toBe(true);
  });

  it("reports nested paths the way users write them", () => {
    const r = validateProxyConfig({
      ...base,
      services: [
        {
          name: "reviews",
          namespace: "shop",
          mtls: false,
          endpoints: [{ address: "127.0.0.1:1", version: "v1" }],
          routes: [{}, { backends: [{ version: "v1", weight: -1 }] }],
        },
      ],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.path)).toContain("services[0].routes[1].backends[0].weight");
    expect(formatProxyConfigIssues(r.issues)).toMatch(/^services\[0\]\.routes\[1\]\.backends\[0\]\.weight: /);
  });

  it("rejects cross-field mistakes", () => {
    const r = validateProxyConfig({
      ...base,
      services: [
        {
          name: "reviews",
          namespace: "shop",
          endpoints: [{ address: "10.0.0.1:15006", version: "v1" }],
          routes: [{ backends: [{ version: "v2" }] }],
        },
        { name: "reviews", namespace: "shop", mtls: false },
        { name: "reviews", namespace: "shop", mtls: false, protocol: "tcp", port: 5432 },
      ],
      inbound: { appPort: 8080 },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "services[0].mtls",
        "services[0].routes[0].backends[0].version",
        "services[1].name",
        "inbound.mtlsMode",
      ]),
    );
    expect(paths).not.toContain("services[2].name");
  });

  it("rejects bad regexes, addresses and missing TLS pieces", () => {
    const r = validateProxyConfig({
      ...base,
      tls: { certPem: "x", keyPem: "y" },
      services: [
        {
          name: "a",
          namespace: "shop",
          endpoints: [{ address: "nope" }],
          routes: [{ match: { path: { regex: "(" } } }],
        },
      ],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "tls.caPem",
        "services[0].endpoints[0].address",
        "services[0].routes[0].match.path.regex",
      ]),
    );
  });
});
