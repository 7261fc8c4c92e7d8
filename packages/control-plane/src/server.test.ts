// The control plane over real TLS and WebSockets, with real PostgreSQL, driven by light proxies that speak
// the real protocol.
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import pg from "pg";
import { createDb } from "@trellis/db";
import { NOTIFY_CHANNELS, validateProxyConfig } from "@trellis/contracts";
import { meshCompiler, startControlPlane, type CompileFn } from "./index.js";
import { fetchPinnedCa, generateKeyAndCsr } from "@trellis/dataplane/mesh";
import { LightProxy } from "./testing.js";
import { startTestControlPlane, TEST_MESH_SECRET, type TestControlPlane } from "../test/support.js";

const url = inject("databaseUrl");
const db = createDb(url);

/**
 * A small stand-in compiler: every other service with its endpoints (none when its proxies left, as the real
 * compiler keeps it: a proxy's telemetry about calls to it is still its own), plus a marker from a resource.
 */
const compile: CompileFn = ({ proxy, registry, resources }) => {
  const marker = resources.find((r) => r.kind === "MeshSettings");
  return {
    identity: { ...proxy, trustDomain: "trellis.local" },
    services: registry.services
      .filter((s) => !(s.namespace === proxy.namespace && s.name === proxy.service))
      .map((s) => ({
        name: s.name,
        namespace: s.namespace,
        endpoints: s.workloads.map((w) => ({ address: w.address, version: w.version })),
      }))
      .concat(
        marker ? [{ name: `marker-r${marker.revision}`, namespace: "trellis-system", endpoints: [] }] : [],
      ),
    inbound: { appPort: 0 },
  };
};

let mesh: TestControlPlane;

function proxy(
  service: string,
  version: string,
  address: string,
  extra: Partial<ConstructorParameters<typeof LightProxy>[0]> = {},
): Promise<LightProxy> {
  return mesh.join({ node: { namespace: "shop", service, version, address, labels: {} }, ...extra });
}

async function notify(payload: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`SELECT pg_notify($1, $2)`, [NOTIFY_CHANNELS.configChanged, payload]);
  await c.end();
}

beforeAll(async () => {
  mesh = await startTestControlPlane(db, "shop", {
    databaseUrl: url,
    compile,
    heartbeatMs: 500,
    debounceMs: 20,
    registryIntervalMs: 100,
  });
});

afterAll(async () => {
  await mesh?.close();
  await db.$disconnect();
});

describe("control plane", () => {
  it("is healthy and ready, over TLS with a certificate from the mesh CA", async () => {
    const res = await new Promise<number>((resolve, reject) => {
      import("node:https").then(({ get }) =>
        get(`${mesh.cp.url}/readyz`, { ca: mesh.caPem }, (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        }).on("error", reject),
      );
    });
    expect(res).toBe(200);
  });

  it("stores the CA key encrypted, and a join token only as a hash", async () => {
    const ca = await db.certificateAuthority.findFirstOrThrow();
    expect(Buffer.from(ca.encryptedKey).toString("latin1")).not.toContain("PRIVATE KEY");
    const jt = await db.joinToken.findFirstOrThrow();
    expect(mesh.token).toMatch(/^tj1\.[\w-]{43}\.[\w-]{43}$/);
    expect(jt.tokenHash).not.toContain(mesh.token.split(".")[2]);
  });

  it("refuses a CA that does not match the join token", async () => {
    const forged = `tj1.${"A".repeat(43)}.${mesh.token.split(".")[2]}`;
    await expect(fetchPinnedCa(mesh.cp.url, forged)).rejects.toThrow(/does not match the join token/);
  });

  it("refuses streams without a valid join token", async () => {
    const { csrPem } = await generateKeyAndCsr();
    const node = { namespace: "shop", service: "x", version: "v1", address: "127.0.0.1:1", labels: {} };
    await expect(
      new LightProxy({ url: mesh.cp.url, token: "", caPem: mesh.caPem, csrPem, node }).connect(),
    ).rejects.toThrow(/401/);
    const wrongSecret = `${mesh.token.split(".").slice(0, 2).join(".")}.${"B".repeat(43)}`;
    await expect(
      new LightProxy({ url: mesh.cp.url, token: wrongSecret, caPem: mesh.caPem, csrPem, node }).connect(),
    ).rejects.toThrow(/401.*invalid/s);
  });

  it("joins a proxy: certificate with its SPIFFE ID, registry entry, first config acked", async () => {
    const p = await proxy("reviews", "v1", "127.0.0.1:20001");
    await p.until(() => p.appliedVersion !== null, 10_000, "first config");
    const cert = new X509Certificate(p.certificate!.certPem);
    expect(cert.subjectAltName).toBe("URI:spiffe://trellis.local/ns/shop/sa/reviews");
    expect(cert.verify(new X509Certificate(mesh.caPem).publicKey)).toBe(true);
    const hours = (new Date(cert.validTo).getTime() - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(23);
    expect(hours).toBeLessThanOrEqual(24.1);

    const w = await db.workload.findUniqueOrThrow({
      where: { id: p.workloadId! },
      include: { service: true },
    });
    expect(w).toMatchObject({
      status: "connected",
      version: "v1",
      identity: "spiffe://trellis.local/ns/shop/sa/reviews",
    });
    expect(w.service.name).toBe("reviews");
    await expect
      .poll(async () => (await db.workload.findUniqueOrThrow({ where: { id: p.workloadId! } })).ackedVersion)
      .toBe(p.appliedVersion);
  });

  it("sends a joining proxy's endpoint to the others, and removes it when it goes away", async () => {
    const ratings = await proxy("ratings", "v1", "127.0.0.1:20002");
    const reviews = mesh.proxies[0]!;
    const hasRatings = () => JSON.stringify(reviews.configs.at(-1)?.config ?? {}).includes("127.0.0.1:20002");
    await reviews.until(hasRatings, 10_000, "ratings endpoint at reviews");
    ratings.kill(); // no goodbye: like a crash
    await reviews.until(() => !hasRatings(), 10_000, "ratings endpoint removed");
    await expect
      .poll(async () => (await db.workload.findUniqueOrThrow({ where: { id: ratings.workloadId! } })).status)
      .toBe("disconnected");
  });

  it("pushes a database change to every proxy, once, and records the rollout per generation", async () => {
    const reviews = mesh.proxies[0]!;
    const before = reviews.configs.length;
    await db.resource.create({
      data: { kind: "MeshSettings", namespace: "trellis-system", name: "mesh", spec: {} },
    });
    const gen = await db.configGeneration.create({ data: { reason: "test" } });
    await notify(JSON.stringify({ generation: gen.number }));
    await reviews.until(
      () => JSON.stringify(reviews.configs.at(-1)?.config).includes("marker-r1"),
      10_000,
      "marker",
    );
    await expect
      .poll(async () =>
        db.proxyConfigStatus.findMany({
          where: { generationId: gen.id },
          select: { state: true, workloadId: true },
        }),
      )
      .toEqual([{ state: "acked", workloadId: reviews.workloadId }]);
    // An unrelated notify changes nothing: nothing is sent.
    const count = reviews.configs.length;
    expect(count).toBe(before + 1);
    await notify("{}");
    await mesh.cp.refresh();
    expect(reviews.configs.length).toBe(count);
  });

  it("records a NACK with the proxy's reason; the proxy keeps its last good version", async () => {
    const picky = await proxy("details", "v1", "127.0.0.1:20003", {
      decide: (cfg) => (JSON.stringify(cfg).includes("marker-r2") ? "route table rejected: test" : null),
    });
    await picky.until(() => picky.appliedVersion !== null, 10_000, "first config");
    const good = picky.appliedVersion;
    await db.resource.update({
      where: { kind_namespace_name: { kind: "MeshSettings", namespace: "trellis-system", name: "mesh" } },
      data: { revision: 2 },
    });
    const gen = await db.configGeneration.create({ data: { reason: "nack test" } });
    await notify(JSON.stringify({ generation: gen.number }));
    await expect
      .poll(async () =>
        db.proxyConfigStatus.findFirst({ where: { generationId: gen.id, workloadId: picky.workloadId! } }),
      )
      .toMatchObject({ state: "nacked", reason: "route table rejected: test" });
    expect(picky.appliedVersion).toBe(good);
    const w = await db.workload.findUniqueOrThrow({ where: { id: picky.workloadId! } });
    expect(w).toMatchObject({ ackedVersion: good, nackReason: "route table rejected: test" });
  });

  it("does not resend what a reconnecting proxy already serves, and keeps its registry entry", async () => {
    const reviews = mesh.proxies[0]!;
    const { workloadId, appliedVersion } = reviews;
    await reviews.close();
    const again = await proxy("reviews", "v1", "127.0.0.1:20001", {
      workloadId: workloadId!,
      appliedVersion: appliedVersion!,
    });
    await again.until(() => again.workloadId !== null, 10_000, "welcome");
    await mesh.cp.refresh();
    expect(again.workloadId).toBe(workloadId);
    expect(again.configs).toHaveLength(0);
  });

  it("renews certificates and accepts only its own telemetry", async () => {
    const p = mesh.proxies.at(-1)!;
    const first = p.certificate!.serial;
    p.sendCsr((await generateKeyAndCsr()).csrPem);
    await p.until(() => p.certificate!.serial !== first, 10_000, "renewed certificate");

    const me = { namespace: "shop", service: "reviews", version: "v1" };
    const other = { namespace: "shop", service: "ratings", version: "v1" };
    const base = {
      code: 200,
      requests: 10,
      mtlsRequests: 10,
      durationSumMs: 50,
      buckets: [0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      bytesSent: 100,
      bytesReceived: 200,
    };
    p.sendTelemetry([
      { ...base, reporter: "outbound", source: me, destination: other },
      { ...base, reporter: "outbound", source: other, destination: me }, // a lie: dropped
    ]);
    p.sendTelemetry([{ ...base, reporter: "outbound", source: me, destination: other }]);
    // The same call over gRPC is a row of its own (series without a protocol, as above, are HTTP/1.1).
    p.sendTelemetry([{ ...base, protocol: "grpc", reporter: "outbound", source: me, destination: other }]);
    await mesh.cp.close(); // flushes telemetry
    const rows = await db.telemetryRollup.findMany({
      where: { sourceNamespace: "shop" },
      orderBy: { protocol: "desc" },
    });
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      sourceService: "reviews",
      destService: "ratings",
      protocol: "http1",
      requests: 20n,
      reporter: "outbound",
    });
    expect(rows[0]!.latencyBuckets[2]).toBe(20n);
    expect(rows[1]).toMatchObject({ protocol: "grpc", requests: 10n });
    mesh.cp = await startControlPlane({
      databaseUrl: url,
      secret: TEST_MESH_SECRET,
      compile,
      port: 0,
      heartbeatMs: 500,
      debounceMs: 20,
      registryIntervalMs: 100,
    });
  });

  it("writes a report to PostgreSQL within its flush interval, not at the proxies' next report", async () => {
    // Proxies report every 30 s here; the report must still be in the database about a second later.
    const cp2 = await startControlPlane({
      databaseUrl: url,
      secret: TEST_MESH_SECRET,
      compile,
      port: 0,
      telemetryIntervalMs: 30_000,
      telemetryFlushMs: 200,
    });
    try {
      // Same CA (one database) as the first replica's: only the URL differs.
      const p = await proxy("flusher", "v1", "127.0.0.1:20020", { url: cp2.url });
      await p.until(() => p.workloadId !== null, 10_000, "welcome");
      const me = { namespace: "shop", service: "flusher", version: "v1" };
      p.sendTelemetry(
        [
          {
            code: 200,
            requests: 7,
            mtlsRequests: 7,
            durationSumMs: 7,
            buckets: [7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            bytesSent: 1,
            bytesReceived: 1,
            reporter: "outbound",
            source: me,
            destination: { namespace: "shop", service: "ratings", version: "v1" },
          },
        ],
        30_000,
      );
      await expect
        .poll(
          async () =>
            (await db.telemetryRollup.findMany({ where: { sourceService: "flusher" } })).map(
              (r) => r.requests,
            ),
          { timeout: 5_000, interval: 100 },
        )
        .toEqual([7n]); // before, it waited for the 10-second housekeeping
    } finally {
      await cp2.close();
    }
  });

  it("rejects a proxy outside its token's namespace, and garbage, with a reason", async () => {
    const { csrPem } = await generateKeyAndCsr();
    const outsider = new LightProxy({
      url: mesh.cp.url,
      token: mesh.token,
      caPem: mesh.caPem,
      csrPem,
      node: { namespace: "billing", service: "ledger", version: "v1", address: "127.0.0.1:1", labels: {} },
    });
    await outsider.connect();
    await outsider.until(() => outsider.closeCode !== null, 5_000, "close");
    expect(outsider.closeCode).toBe(4403);
    expect(outsider.errors[0]).toMatch(/FORBIDDEN: this join token allows namespace shop/);

    const junk = new LightProxy({
      url: mesh.cp.url,
      token: mesh.token,
      caPem: mesh.caPem,
      csrPem,
      node: { namespace: "shop", service: "x", version: "v1", address: "127.0.0.1:1", labels: {} },
    });
    await junk.connect();
    junk.sendRaw("{not json");
    await junk.until(() => junk.closeCode !== null, 5_000, "close");
    expect([4400, 1011]).toContain(junk.closeCode);
  });

  it("refuses to start with a different mesh secret than the CA was created with", async () => {
    await expect(
      startControlPlane({
        databaseUrl: url,
        secret: "another-secret-another-secret-0123456",
        compile,
        port: 0,
      }),
    ).rejects.toThrow(/TRELLIS_SECRET differs/);
  });

  it("hears changes again after PostgreSQL drops its notification connection", async () => {
    const p = await proxy("cart", "v1", "127.0.0.1:20020");
    await p.until(() => p.appliedVersion !== null, 10_000, "first config");
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      // The LISTEN connection is the one whose last statement was a LISTEN, in this run's database.
      const killed = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`,
      );
      expect(killed.rowCount).toBeGreaterThan(0);
      // Once reconnected (with backoff), a committed change reaches the proxy again.
      const before = p.configs.length;
      await expect
        .poll(
          async () => {
            await admin.query(`SELECT pg_notify($1, '{}')`, [NOTIFY_CHANNELS.configChanged]);
            await db.resource.upsert({
              where: {
                kind_namespace_name: { kind: "MeshSettings", namespace: "trellis-system", name: "mesh" },
              },
              create: {
                kind: "MeshSettings",
                namespace: "trellis-system",
                name: "mesh",
                spec: {},
                revision: 50,
              },
              update: { revision: { increment: 1 } },
            });
            await admin.query(`SELECT pg_notify($1, '{}')`, [NOTIFY_CHANNELS.configChanged]);
            return p.configs.length > before;
          },
          { timeout: 20_000, interval: 500 },
        )
        .toBe(true);
    } finally {
      await admin.end();
    }
  });

  it("runs as a second replica on the same database, with the real compiler, seeing the first replica's proxies", async () => {
    const logs: string[] = [];
    const cp2 = await startControlPlane({
      databaseUrl: url,
      secret: TEST_MESH_SECRET,
      compile: meshCompiler((l) => logs.push(l)),
      port: 0,
      debounceMs: 20,
      registryIntervalMs: 100,
      log: (l) => logs.push(l),
    });
    try {
      const onFirst = await proxy("reviews", "v2", "127.0.0.1:20010");
      await onFirst.until(() => onFirst.appliedVersion !== null, 10_000, "config from replica 1");
      // Same CA (one database) as the first replica's: only the URL differs.
      const onSecond = await proxy("productpage", "v1", "127.0.0.1:20011", { url: cp2.url });
      const reviewsAt = (cfg: unknown) =>
        (
          cfg as
            { services: { name: string; namespace: string; endpoints: { address: string }[] }[] } | undefined
        )?.services
          .find((x) => x.name === "reviews" && x.namespace === "shop")
          ?.endpoints.map((e) => e.address) ?? [];
      await onSecond
        .until(
          () => reviewsAt(onSecond.configs.at(-1)?.config).includes("127.0.0.1:20010"),
          10_000,
          "reviews endpoint from replica 1",
        )
        .catch((e: unknown) => {
          throw new Error(`${(e as Error).message}; replica 2 said: ${logs.join(" | ")}`);
        });

      // What the proxy gets is a real proxy config once it adds its own TLS material and app port.
      const cfg = onSecond.configs.at(-1)!.config as Record<string, unknown>;
      const check = validateProxyConfig({
        ...cfg,
        version: onSecond.configs.at(-1)!.version,
        tls: { certPem: "c", keyPem: "k", caPem: "a" },
      });
      expect(check.ok).toBe(true);

      // A canary Route committed to the database reaches the proxy on replica 2 (v1 must be up for its 90%).
      const v1 = await proxy("reviews", "v1", "127.0.0.1:20012");
      await v1.until(() => v1.appliedVersion !== null, 10_000, "v1 config");
      await db.resource.create({
        data: {
          kind: "Route",
          namespace: "shop",
          name: "reviews-canary",
          spec: {
            service: "reviews",
            rules: [
              {
                backends: [
                  { version: "v1", weight: 90 },
                  { version: "v2", weight: 10 },
                ],
              },
            ],
          },
        },
      });
      await notify("{}");
      const weights = () => {
        const svc = (
          onSecond.configs.at(-1)?.config as
            | {
                services: {
                  name: string;
                  namespace: string;
                  routes: { backends?: { version?: string; weight: number }[] }[];
                }[];
              }
            | undefined
        )?.services.find((x) => x.name === "reviews" && x.namespace === "shop");
        return svc?.routes[0]?.backends?.map((b) => `${b.version}:${b.weight}`).join(",") ?? "";
      };
      await onSecond.until(() => weights() === "v1:90,v2:10", 10_000, "canary weights");
      expect(logs.filter((l) => /skipping|failed|invalid/.test(l))).toEqual([]);
    } finally {
      await cp2.close();
    }
  });
});

describe("control plane shutdown", () => {
  // A proxy told to go (1001) may reconnect at once (its backoff has full jitter): a stream accepted while the
  // replica shuts down kept close() waiting forever (a cp-restart journey hung on it).
  it("finishes close() even when a proxy connects while it shuts down, and refuses that proxy with 503", async () => {
    const cp3 = await startControlPlane({
      databaseUrl: url,
      secret: TEST_MESH_SECRET,
      compile,
      port: 0,
      debounceMs: 20,
      registryIntervalMs: 100,
    });
    const joined = await proxy("ratings", "v1", "127.0.0.1:20030", { url: cp3.url });
    await joined.until(() => joined.appliedVersion !== null, 10_000, "first config");
    const { csrPem } = await generateKeyAndCsr();
    const late = new LightProxy({
      url: cp3.url,
      token: mesh.token,
      caPem: mesh.caPem,
      csrPem,
      node: { namespace: "shop", service: "ratings", version: "v2", address: "127.0.0.1:20031", labels: {} },
    });
    mesh.proxies.push(late);
    const lateConnect = late.connect().then(
      () => "connected",
      (e: Error) => e.message,
    );
    const closed = cp3.close().then(() => "closed");
    const timeout = new Promise<string>((r) =>
      setTimeout(() => r("close() still waiting after 15 s"), 15_000),
    );
    expect(await Promise.race([closed, timeout])).toBe("closed");
    // Refused (or cut) during shutdown, never left holding the replica open.
    expect(await lateConnect).not.toBe("connected");
  }, 30_000);
});
