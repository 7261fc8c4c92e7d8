// Sidecar to sidecar over real mTLS: identity, authorization, modes, rotation, telemetry on both sides.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import tls from "node:tls";
import { client, rawRequest } from "./test-support/apps.js";
import { startMesh, TD, type Mesh } from "./test-support/mesh.js";
import { TestPki } from "./test-pki.js";

let mesh: Mesh;
const c = client();
const call = (path: string, headers: Record<string, string> = {}, method = "GET") =>
  c.get(mesh.web.addresses.outbound!.port, path, { host: "reviews", ...headers }, method);

beforeAll(async () => {
  mesh = await startMesh();
});
afterAll(async () => {
  await c.close();
  await mesh.close();
});

describe("mesh path over mTLS", () => {
  it("carries a request web -> reviews with the caller's verified identity and a new span per hop", async () => {
    const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const r = await call("/hello", { traceparent: parent, "x-trellis-peer": "spiffe://forged" });
    expect(r.status).toBe(200);
    const seen = r.json().headers;
    expect(seen["x-trellis-peer"]).toBe(`spiffe://${TD}/ns/shop/sa/web`);
    expect(seen["traceparent"]).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(seen["traceparent"]).not.toContain("00f067aa0ba902b7");
    expect(seen["x-trellis-source-version"]).toBeUndefined();
  });

  it("opens many mTLS connections at once without handshake failures", async () => {
    const fresh = client();
    const rs = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        fresh.get(mesh.web.addresses.outbound!.port, `/c${i}`, { host: "reviews" }),
      ),
    );
    await fresh.close();
    expect(rs.map((r) => r.status)).toEqual(rs.map(() => 200));
  });

  it("streams a large body both ways through two sidecars", async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 0x62);
    const r = await request(`http://127.0.0.1:${mesh.web.addresses.outbound!.port}/echo`, {
      method: "POST",
      headers: { host: "reviews" },
      body: big,
      dispatcher: c.agent,
    });
    let n = 0;
    for await (const chunk of r.body) n += (chunk as Buffer).length;
    expect(r.statusCode).toBe(200);
    expect(n).toBe(big.length);
    const d = await request(`http://127.0.0.1:${mesh.web.addresses.outbound!.port}/bytes/20000000`, {
      headers: { host: "reviews" },
      dispatcher: c.agent,
    });
    let m = 0;
    for await (const chunk of d.body) m += (chunk as Buffer).length;
    expect(m).toBe(20_000_000);
  });

  it("records telemetry on both sides with source and destination versions", async () => {
    await call("/metrics-probe");
    const out = await (
      await request(`http://127.0.0.1:${mesh.web.addresses.admin!.port}/stats/prometheus`)
    ).body.text();
    expect(out).toMatch(
      /trellis_requests_total\{direction="outbound",source_namespace="shop",source_service="web",source_version="v3",destination_namespace="shop",destination_service="reviews",destination_version="v1",mtls="true",protocol="http1",response_code="200"\} \d+/,
    );
    expect(out).toMatch(/trellis_request_duration_ms_bucket\{direction="outbound".*le="\+Inf"\} \d+/);
    expect(out).toMatch(/trellis_tcp_connections_total\{listener="outbound"\} \d+/);
    const inb = await (
      await request(`http://127.0.0.1:${mesh.reviews.addresses.admin!.port}/stats/prometheus`)
    ).body.text();
    expect(inb).toMatch(
      /trellis_requests_total\{direction="inbound",source_namespace="shop",source_service="web",source_version="v3",destination_namespace="shop",destination_service="reviews",destination_version="v1",mtls="true",protocol="http1",response_code="200"\} \d+/,
    );
  });

  it("refuses mesh-CA certificates of another trust domain", async () => {
    const foreign = mesh.pki.issue("other.domain", "shop", "web");
    const got = await new Promise<string | null>((resolve) => {
      const s = tls.connect({
        host: "127.0.0.1",
        port: mesh.reviews.addresses.inbound!.port,
        cert: foreign.certPem,
        key: foreign.keyPem,
        ca: mesh.pki.caPem,
        checkServerIdentity: () => undefined,
      });
      s.on("secureConnect", () => s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      s.on("data", (d) => resolve(d.toString()));
      s.on("error", () => resolve(null));
      s.on("close", () => resolve(null));
    });
    expect(got).toBeNull();
  });

  it("strict mode refuses plain text on the inbound port", async () => {
    const raw = await rawRequest(mesh.reviews.addresses.inbound!.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(raw).toMatch(/^HTTP\/1.1 403/);
    expect(raw).toContain("DP_MTLS_REQUIRED");
  });

  it("refuses TLS clients without a mesh certificate", async () => {
    const other = new TestPki("rogue-ca").issue(TD, "shop", "web");
    const err = await new Promise<Error | null>((resolve) => {
      const s = tls.connect({
        host: "127.0.0.1",
        port: mesh.reviews.addresses.inbound!.port,
        ...{ cert: other.certPem, key: other.keyPem },
        ca: mesh.pki.caPem,
        rejectUnauthorized: false,
      });
      s.on("secureConnect", () => {
        s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      });
      s.on("data", () => resolve(null));
      s.on("error", (e) => resolve(e));
      s.on("close", () => resolve(new Error("closed")));
    });
    expect(err).not.toBeNull();
  });

  it("permissive mode accepts plain text too, without an identity", async () => {
    expect(mesh.reviews.applyConfig(mesh.reviewsConfig("r-perm", { mtlsMode: "permissive" })).ok).toBe(true);
    try {
      const raw = await rawRequest(
        mesh.reviews.addresses.inbound!.port,
        "GET /plain HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n",
      );
      expect(raw).toMatch(/^HTTP\/1.1 200/);
      expect(raw).not.toContain("x-trellis-peer");
      expect((await call("/still-mtls")).json().headers["x-trellis-peer"]).toBe(
        `spiffe://${TD}/ns/shop/sa/web`,
      );
    } finally {
      expect(mesh.reviews.applyConfig(mesh.reviewsConfig("r2")).ok).toBe(true);
    }
  });

  it("authorizes by caller identity, method and path; deny wins over allow", async () => {
    const rules = [
      { action: "allow", from: { services: ["web"] }, methods: ["GET"], paths: ["/public/*", "/exact"] },
      { action: "deny", from: { identities: [`spiffe://${TD}/ns/shop/sa/web`] }, paths: ["/public/secret"] },
    ];
    expect(mesh.reviews.applyConfig(mesh.reviewsConfig("r-authz", { authorization: rules })).ok).toBe(true);
    try {
      expect((await call("/public/a")).status).toBe(200);
      expect((await call("/exact")).status).toBe(200);
      const denied = await call("/public/secret");
      expect(denied.status).toBe(403);
      expect(denied.headers["x-trellis-error"]).toBe("DP_FORBIDDEN");
      expect((await call("/other")).status).toBe(403);
      expect((await call("/public/a", {}, "POST")).status).toBe(403);
    } finally {
      expect(mesh.reviews.applyConfig(mesh.reviewsConfig("r3")).ok).toBe(true);
    }
  });

  it("rate limits per caller with 429", async () => {
    expect(
      mesh.reviews.applyConfig(
        mesh.reviewsConfig("r-rl", { rateLimit: { requestsPerSecond: 1, burst: 3, perCaller: true } }),
      ).ok,
    ).toBe(true);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await call("/rl")).status);
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(2);
    } finally {
      expect(mesh.reviews.applyConfig(mesh.reviewsConfig("r4")).ok).toBe(true);
    }
  });

  it("refuses a peer that presents another service's identity", async () => {
    // web expects `reviews` but the endpoint is a proxy holding web's own certificate.
    expect(mesh.reviews.applyConfig(mesh.reviewsConfig("r-wrong", {}, mesh.webPem)).ok).toBe(true);
    try {
      const fresh = client();
      // A new web config forces new pools (new connections, so the handshake happens again).
      expect(mesh.web.applyConfig(mesh.webConfig("w-wrong", { policy: { idleTimeoutMs: 1234 } })).ok).toBe(
        true,
      );
      const r = await fresh.get(mesh.web.addresses.outbound!.port, "/who", { host: "reviews" });
      await fresh.close();
      expect(r.status).toBe(503);
      expect(r.headers["x-trellis-error"]).toBe("DP_UPSTREAM_CONNECT_FAILURE");
      expect(r.text).toContain("expected spiffe://trellis.test/ns/shop/sa/reviews");
    } finally {
      expect(mesh.reviews.applyConfig(mesh.reviewsConfig("r5")).ok).toBe(true);
      expect(mesh.web.applyConfig(mesh.webConfig("w2")).ok).toBe(true);
    }
  });

  it("rotates certificates in place: new connections use the new certificate", async () => {
    const newPem = mesh.pki.issue(TD, "shop", "reviews");
    expect(mesh.reviews.applyConfig(mesh.reviewsConfig("r-rot", {}, newPem)).ok).toBe(true);
    const serial = await new Promise<string>((resolve, reject) => {
      const s = tls.connect(
        {
          host: "127.0.0.1",
          port: mesh.reviews.addresses.inbound!.port,
          cert: mesh.webPem.certPem,
          key: mesh.webPem.keyPem,
          ca: mesh.pki.caPem,
          checkServerIdentity: () => undefined,
        },
        () => {
          resolve(s.getPeerCertificate().serialNumber);
          s.destroy();
        },
      );
      s.on("error", reject);
    });
    expect(serial).toBe(new (await import("node:crypto")).X509Certificate(newPem.certPem).serialNumber);
    expect((await call("/after-rotation")).status).toBe(200);
  });
});
