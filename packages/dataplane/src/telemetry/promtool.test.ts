// Peer test: Prometheus' own linter (`promtool check metrics`, Debian package `prometheus`) reads what two real
// sidecars serve on /stats/prometheus after real traffic: HTTP through mTLS, a 5xx that is retried, a request
// for an unknown service, malformed HTTP, a TCP passthrough connection, a peer with a revoked certificate,
// a rejected config and a config whose version needs escaping. Every family has samples, so nothing the
// linter checks is left out of the check.
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { Resolver } from "node:dns/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { startProxy, type ProxyHandle } from "../index.js";
import { client, freePort, listen, rawRequest, startApp, type TestApp } from "../test-support/apps.js";
import { TestPki } from "../test-pki.js";
import { familyOf, repeatedSeries, sampleLines } from "../test-support/prometheus.js";
import { startCollector, type TestCollector } from "../test-support/collector.js";
import { FAMILIES } from "./families.js";

const TD = "trellis.test";
const L0 = { address: "127.0.0.1", port: 0 };
const INSTALL = "promtool is not installed: apt-get install -y --no-install-recommends prometheus";

/** The one lint we accept, matched whole: why the histogram keeps `_ms` is explained in families.ts. */
const ACCEPTED = ["trellis_request_duration_ms metric names should not contain abbreviated units"];

/** Runs `promtool check metrics < file`, the text in a temp file so that a failure can be reproduced. */
function promtool(text: string): { file: string; status: number | null; problems: string[] } {
  const file = join(mkdtempSync(join(tmpdir(), "trellis-promtool-")), "metrics.prom");
  writeFileSync(file, text);
  const fd = openSync(file, "r");
  try {
    const r = spawnSync("promtool", ["check", "metrics"], { stdio: [fd, "pipe", "pipe"], encoding: "utf8" });
    // Missing promtool fails the test, never skips it: a skipped peer test checks nothing.
    if (r.error) throw new Error(`${INSTALL} (${r.error.message})`, { cause: r.error });
    const problems = `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => l !== "");
    return { file, status: r.status, problems };
  } finally {
    closeSync(fd);
  }
}

const pki = new TestPki();
const webPem = pki.issue(TD, "shop", "web");
const reviewsPem = pki.issue(TD, "shop", "reviews");
/** Issued to a web replica that was evicted: reviews lists it as revoked. */
const evictedPem = pki.issue(TD, "shop", "web");
const c = client();
let app: TestApp;
let echo: net.Server;
let reviews: ProxyHandle;
let web: ProxyHandle;
let tcpLocalPort: number;
let webConfig: (version: string) => Record<string, unknown>;
let collector: TestCollector;

const scrape = async (p: ProxyHandle) =>
  (await request(`http://127.0.0.1:${p.addresses.admin!.port}/stats/prometheus`)).body.text();

beforeAll(async () => {
  collector = await startCollector();
  app = await startApp("reviews-v1");
  echo = net.createServer((s) => s.pipe(s));
  const echoPort = await listen(echo);
  const evicted = new X509Certificate(evictedPem.certPem);
  reviews = await startProxy({
    config: {
      version: "r1",
      identity: { namespace: "shop", service: "reviews", version: "v1", trustDomain: TD },
      tls: reviewsPem,
      inbound: { appPort: app.port, tcpPorts: [echoPort] },
      revokedCertificates: [
        { serial: evicted.serialNumber, expiresAt: new Date(evicted.validTo).toISOString() },
      ],
    },
    listeners: { inbound: L0, outbound: null, admin: L0 },
    log: () => {},
  });
  tcpLocalPort = await freePort();
  const inbound = `127.0.0.1:${reviews.addresses.inbound!.port}`;
  webConfig = (version) => ({
    version,
    identity: { namespace: "shop", service: "web", version: "v3", trustDomain: TD },
    tls: webPem,
    // Spans of every request, so the tracing counters are served too.
    tracing: { samplingPercent: 100, endpoint: collector.endpoint, flushIntervalMs: 50 },
    services: [
      {
        name: "reviews",
        namespace: "shop",
        endpoints: [{ address: inbound, version: "v1" }],
        routes: [{ retries: { attempts: 1, backoffBaseMs: 1, backoffMaxMs: 2 } }],
        // Configured so that their series exist; generous enough that they do not shed the test's requests.
        policy: {
          circuitBreaker: { maxConnections: 100, maxPending: 100, maxRequests: 100 },
          outlierDetection: { consecutive5xx: 100, baseEjectionMs: 1000, maxEjectionPercent: 50 },
          rateLimit: { requestsPerSecond: 1000, burst: 1000 },
        },
      },
      {
        name: "reviews",
        namespace: "shop",
        protocol: "tcp",
        port: tcpLocalPort,
        targetPort: echoPort,
        endpoints: [{ address: inbound }],
      },
    ],
  });
  web = await startProxy({
    config: webConfig("w1"),
    listeners: { outbound: L0, inbound: null, admin: L0 },
    // The resolver too, with no upstream: its counter family is served like every other.
    dns: { address: "127.0.0.1", port: 0, upstreams: [] },
    log: () => {},
  });
});

afterAll(async () => {
  await collector?.close();
  await c.close();
  await web?.close();
  await reviews?.close();
  await app?.close();
  echo?.close();
});

describe("promtool check metrics", () => {
  it("accepts what both sidecars serve after real traffic, every family with samples", async () => {
    // A rejected config, then one whose version has every character a label value must escape.
    expect(web.applyConfig({ version: "w-bad", identity: {} }).ok).toBe(false);
    const version = 'w2 "quoted" back\\slash\nnew line';
    expect(web.applyConfig(webConfig(version))).toEqual({ ok: true, version });

    const out = web.addresses.outbound!.port;
    expect((await c.get(out, "/ok", { host: "reviews" })).status).toBe(200);
    // A 5xx, retried once.
    expect((await c.get(out, "/status/503", { host: "reviews" })).status).toBe(503);
    expect(app.seen.filter((s) => s.url === "/status/503")).toHaveLength(2);
    expect((await c.get(out, "/", { host: "nowhere" })).headers["x-trellis-error"]).toBe(
      "DP_UNKNOWN_SERVICE",
    );
    expect(await rawRequest(out, "NOT HTTP\r\n\r\n")).toMatch(/^HTTP\/1.1 400 /);

    // A DNS query for a name outside the mesh, which fails with no upstream (c-ares as the client).
    const resolver = new Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([`127.0.0.1:${web.addresses.dns!.port}`]);
    await expect(resolver.resolve4("example.test")).rejects.toMatchObject({ code: "ESERVFAIL" });

    // TCP passthrough: bytes there and back, then the connection closes and is counted on both sides.
    const s = net.connect(tcpLocalPort, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      s.on("connect", () => s.write("ping"));
      s.once("data", () => resolve());
      s.on("error", reject);
    });
    s.destroy();

    // A peer whose certificate the CA signed but the mesh revoked: reviews closes its connection.
    const refused = tls.connect({
      host: "127.0.0.1",
      port: reviews.addresses.inbound!.port,
      cert: evictedPem.certPem,
      key: evictedPem.keyPem,
      ca: evictedPem.caPem,
      servername: "reviews",
      checkServerIdentity: () => undefined,
      ALPNProtocols: ["http/1.1"],
    });
    refused.on("error", () => {});
    await new Promise((r) => refused.once("close", r));

    await expect.poll(async () => (await scrape(web)).includes('protocol="tcp"')).toBe(true);
    await expect.poll(async () => (await scrape(reviews)).includes('protocol="tcp"')).toBe(true);

    const texts = { web: await scrape(web), reviews: await scrape(reviews) };
    const seen = new Set([...sampleLines(texts.web), ...sampleLines(texts.reviews)].map(familyOf));
    expect([...seen].sort()).toEqual(Object.keys(FAMILIES).sort());
    expect(texts.web).toContain('trellis_config_info{version="w2 \\"quoted\\" back\\\\slash\\nnew line"} 1');
    expect(texts.web).toMatch(
      /^trellis_retries_total\{destination_namespace="shop",destination_service="reviews",destination_port="80"\} 1$/m,
    );

    for (const [sidecar, text] of Object.entries(texts)) {
      const r = promtool(text);
      const unexpected = r.problems.filter((p) => !ACCEPTED.includes(p));
      const accepted = r.problems.length > unexpected.length;
      // promtool exits 3 for lint problems, 1 when it cannot parse the text.
      expect({ sidecar, file: r.file, status: r.status, unexpected, repeated: repeatedSeries(text) }).toEqual(
        {
          sidecar,
          file: r.file,
          status: accepted ? 3 : 0,
          unexpected: [],
          repeated: [],
        },
      );
      rmSync(dirname(r.file), { recursive: true }); // kept when the check fails, to reproduce it
    }
  });
});
