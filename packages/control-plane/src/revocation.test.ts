// Revoking a join token evicts the proxies that joined with it, on every replica, and their certificates stop
// working between sidecars. Real parts: two control-plane replicas on one PostgreSQL, real sidecars (the data
// plane's mesh client and proxy) beside real HTTP apps on 127.0.0.1, traffic over mTLS.
//
//   alpha (token T1, replica A)   bravo (T1, replica B)   charlie (T2, replica A)   delta (T2, replica B)
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDb } from "@trellis/db";
import { createJoinToken, revokeJoinToken, SYSTEM_ACTOR } from "@trellis/services";
import { generateKeyAndCsr, startMeshProxy, type MeshProxy } from "@trellis/dataplane/mesh";
import { MESH_STREAM_PATH } from "@trellis/contracts";
import WebSocket from "ws";
import { meshCompiler, startControlPlane, type CompileFn, type ControlPlane } from "./index.js";
import { callThrough, freePort, nameApp, TEST_MESH_SECRET } from "../test/support.js";

const NS = "revoke";
const url = inject("databaseUrl");
const db = createDb(url);

/**
 * The real compiler, plus a switch that keeps an evicted workload listed as an endpoint (as a registry that
 * has not caught up yet would): then only the certificate revocation stands between the caller and it.
 */
let staleEndpoint: { service: string; address: string } | null = null;
const realCompile = meshCompiler();
const compile: CompileFn = (input) => {
  const config = realCompile(input);
  const stale = staleEndpoint;
  if (stale === null) return config;
  const services = (config.services as { namespace: string; name: string; endpoints: object[] }[]).map((s) =>
    s.namespace === NS && s.name === stale.service && s.endpoints.length === 0
      ? { ...s, endpoints: [{ address: stale.address, version: "v1", weight: 1, labels: {} }] }
      : s,
  );
  return { ...config, services };
};

const startCp = () =>
  startControlPlane({
    databaseUrl: url,
    secret: TEST_MESH_SECRET,
    compile,
    port: 0,
    debounceMs: 20,
    registryIntervalMs: 100,
    // Housekeeping (which also looks for revoked tokens it did not hear of) runs this often.
    telemetryIntervalMs: 2_000,
  });

interface Sidecar {
  m: MeshProxy;
  outbound: number;
  inboundAddress: string;
  admin: number;
  logs: string[];
}

let cpA: ControlPlane;
let cpB: ControlPlane;
const t1 = { id: "", token: "" };
const t2 = { id: "", token: "" };
const apps: Server[] = [];
const all: MeshProxy[] = [];
const s: Record<"alpha" | "bravo" | "charlie" | "delta", Sidecar> = {} as never;

async function sidecar(service: string, token: string, on: ControlPlane, wait = true): Promise<Sidecar> {
  const a = await nameApp(service);
  apps.push(a.server);
  const [inbound, outbound, admin] = [await freePort(), await freePort(), await freePort()];
  const logs: string[] = [];
  const m = startMeshProxy({
    controlPlaneUrls: [on.url],
    token,
    node: { namespace: NS, service, version: "v1", address: `127.0.0.1:${inbound}`, labels: {} },
    app: { port: a.port },
    listeners: {
      inbound: { address: "127.0.0.1", port: inbound },
      outbound: { address: "127.0.0.1", port: outbound },
      admin: { address: "127.0.0.1", port: admin },
    },
    drainTimeoutMs: 500,
    backoff: { baseMs: 100, maxMs: 500 },
    log: (l) => logs.push(l),
  });
  all.push(m);
  if (wait) await m.ready;
  return { m, outbound, inboundAddress: `127.0.0.1:${inbound}`, admin, logs };
}

beforeAll(async () => {
  cpA = await startCp();
  cpB = await startCp();
  Object.assign(t1, await createJoinToken(db, SYSTEM_ACTOR, { namespace: NS, name: "leaked" }));
  Object.assign(t2, await createJoinToken(db, SYSTEM_ACTOR, { namespace: NS, name: "good" }));
  s.alpha = await sidecar("alpha", t1.token, cpA);
  s.bravo = await sidecar("bravo", t1.token, cpB);
  s.charlie = await sidecar("charlie", t2.token, cpA);
  s.delta = await sidecar("delta", t2.token, cpB);
});

afterAll(async () => {
  await Promise.all(all.map((m) => m.close()));
  await cpA?.close();
  await cpB?.close();
  for (const a of apps) a.close();
  await db.$disconnect();
});

describe("revoking a join token", () => {
  it("works end to end before the revocation (and leaves keep-alive connections open)", async () => {
    await expect.poll(() => callThrough(s.alpha.outbound, "charlie").then((r) => r.body)).toBe("charlie");
    await expect.poll(() => callThrough(s.charlie.outbound, "alpha").then((r) => r.body)).toBe("alpha");
    await expect.poll(() => callThrough(s.delta.outbound, "charlie").then((r) => r.body)).toBe("charlie");
    await expect.poll(() => callThrough(s.bravo.outbound, "delta").then((r) => r.body)).toBe("delta");
  });

  it("evicts T1's proxies on both replicas within seconds; T2's stay connected and keep getting config", async () => {
    const revokedAt = Date.now();
    const r = await revokeJoinToken(db, SYSTEM_ACTOR, t1.id);
    expect(r).toEqual({ evicted: 2, certificatesRevoked: 2 });
    // alpha is on replica A, bravo on replica B: each replica hears the NOTIFY and closes its own streams.
    await expect
      .poll(() => [s.alpha.m.connected(), s.bravo.m.connected()], { timeout: 5_000, interval: 20 })
      .toEqual([false, false]);
    expect(Date.now() - revokedAt).toBeLessThan(5_000);
    for (const x of [s.alpha, s.bravo])
      expect(x.logs.join("\n")).toMatch(/evicted from the mesh by the control plane: join token revoked/);

    const workloads = await db.workload.findMany({
      where: { service: { namespace: NS } },
      include: { service: true },
      orderBy: { service: { name: "asc" } },
    });
    expect(workloads.map((w) => `${w.service.name}:${w.status}`)).toEqual([
      "alpha:disconnected",
      "bravo:disconnected",
      "charlie:connected",
      "delta:connected",
    ]);
    const revoked = await db.revokedCertificate.findMany({ where: { joinTokenId: t1.id } });
    expect(revoked.map((c) => c.serial).sort()).toEqual(
      [s.alpha.m.certificate()!.serial, s.bravo.m.certificate()!.serial].sort(),
    );
    const audit = await db.auditEvent.findFirst({
      where: { action: "joinToken.revoke", targetId: t1.id },
    });
    expect(audit?.details).toEqual({ evictedProxies: 2, certificatesRevoked: 2 });
    expect((await db.joinToken.findUniqueOrThrow({ where: { id: t1.id } })).evictedProxies).toBe(2);

    // T2's proxies were pushed the revocation list (and the endpoints without alpha and bravo).
    for (const x of [s.charlie, s.delta]) {
      await expect
        .poll(async () => {
          const config = await configOf(x);
          return config.revokedCertificates?.map((c) => c.serial);
        })
        .toEqual(expect.arrayContaining([hex(s.alpha.m.certificate()!.serial)]));
      expect(x.m.connected()).toBe(true);
    }
    await expect.poll(() => callThrough(s.charlie.outbound, "alpha").then((res) => res.status)).toBe(503);
    await new Promise((res) => setTimeout(res, 1_000));
    expect([s.charlie.m.connected(), s.delta.m.connected()]).toEqual([true, true]);
    expect([s.alpha.m.connected(), s.bravo.m.connected()]).toEqual([false, false]);
  });

  it("refuses T1 at join time, on either replica", async () => {
    for (const on of [cpA, cpB]) {
      const again = await sidecar("alpha", t1.token, on, false);
      await expect(again.m.ready).rejects.toMatchObject({ code: "DP_JOIN_TOKEN_INVALID" });
      expect(again.logs.join("\n")).toMatch(/HTTP 401.*revoked/);
      await again.m.close();
    }
  });

  it("keeps configuring T2's proxies after the eviction", async () => {
    const before = s.charlie.m.proxy()!.currentVersion();
    await db.resource.create({
      data: {
        kind: "Route",
        namespace: NS,
        name: "charlie-v1",
        spec: { service: "charlie", rules: [{ backends: [{ version: "v1" }] }] },
      },
    });
    await cpA.refresh();
    await cpB.refresh();
    await expect.poll(() => s.charlie.m.proxy()!.currentVersion()).not.toBe(before);
    expect(await callThrough(s.delta.outbound, "charlie")).toEqual({ status: 200, body: "charlie" });
  });

  it("refuses the evicted sidecars' certificates between sidecars, both ways; T2 ↔ T2 still works", async () => {
    // Evicted sidecar → T2: its config is frozen and still lists charlie, its pooled connection was open.
    await expect.poll(() => callThrough(s.alpha.outbound, "charlie").then((r) => r.status)).not.toBe(200);
    for (let i = 0; i < 5; i++) expect((await callThrough(s.alpha.outbound, "charlie")).status).not.toBe(200);
    for (let i = 0; i < 5; i++) expect((await callThrough(s.bravo.outbound, "delta")).status).not.toBe(200);
    // Refused by the T2 sidecars' inbound listeners: the open connection was closed, new ones are refused.
    for (const x of [s.charlie, s.delta]) {
      const metrics = await fetch(`http://127.0.0.1:${x.admin}/stats/prometheus`).then((r) => r.text());
      expect(Number(/^trellis_revoked_peer_refused_total (\d+)/m.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(1);
    }
    // The revoked peer's alpha app is still up, and reached directly through its sidecar's inbound... only with
    // a valid certificate: T2 → evicted, with alpha's endpoint still listed, is refused by the TLS check.
    staleEndpoint = { service: "alpha", address: s.alpha.inboundAddress };
    try {
      await cpA.refresh();
      await expect
        .poll(async () => {
          const config = await configOf(s.charlie);
          return config.services.find((x) => x.name === "alpha")?.endpoints.map((e) => e.address);
        })
        .toEqual([s.alpha.inboundAddress]);
      for (let i = 0; i < 5; i++) {
        const r = await callThrough(s.charlie.outbound, "alpha");
        expect(r.status).toBe(502);
        expect(r.body).toMatch(/ERR_TRELLIS_PEER_REVOKED/);
      }
    } finally {
      staleEndpoint = null;
    }
    for (let i = 0; i < 5; i++) {
      expect(await callThrough(s.delta.outbound, "charlie")).toEqual({ status: 200, body: "charlie" });
      expect(await callThrough(s.charlie.outbound, "delta")).toEqual({ status: 200, body: "delta" });
    }
  });
});

/** Serials as configs carry them: lowercase hex without leading zeros. */
const hex = (serial: string) => serial.toLowerCase().replace(/^0+(?=.)/, "");

/** The config a sidecar serves, from its admin listener. */
async function configOf(x: Sidecar): Promise<{
  revokedCertificates?: { serial: string }[];
  services: { name: string; endpoints: { address: string }[] }[];
}> {
  const res = await fetch(`http://127.0.0.1:${x.admin}/config_dump`);
  return ((await res.json()) as { config: Awaited<ReturnType<typeof configOf>> }).config;
}

describe("a rogue proxy that collected certificates with a leaked token", () => {
  it("has every certificate issued under the token revoked, also those a renewal replaced", async () => {
    const leaked = await createJoinToken(db, SYSTEM_ACTOR, { namespace: NS, service: "rogue" });
    // The stream protocol by hand: hello, then two CSRs on the stream (renewals it did not need).
    const ws = new WebSocket(`${cpB.url.replace("https", "wss")}${MESH_STREAM_PATH}`, {
      ca: cpB.caPem,
      headers: { authorization: `Bearer ${leaked.token}` },
    });
    const serials: string[] = [];
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    let got: () => void = () => {};
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as { type: string; certificate?: { serial: string } };
      if (msg.certificate) {
        serials.push(msg.certificate.serial);
        got();
      }
    });
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    const next = () => new Promise<void>((resolve) => (got = resolve));
    let n = next();
    ws.send(
      JSON.stringify({
        type: "hello",
        node: { namespace: NS, service: "rogue", version: "v1", address: "127.0.0.1:9", labels: {} },
        csr: (await generateKeyAndCsr()).csrPem,
      }),
    );
    await n;
    for (let i = 0; i < 2; i++) {
      n = next();
      ws.send(JSON.stringify({ type: "csr", csr: (await generateKeyAndCsr()).csrPem }));
      await n;
    }
    expect(new Set(serials).size).toBe(3);

    const r = await revokeJoinToken(db, SYSTEM_ACTOR, leaked.id);
    expect(r).toEqual({ evicted: 1, certificatesRevoked: 3 });
    expect(await closed).toEqual({ code: 4401, reason: "join token revoked" });
    const revoked = await db.revokedCertificate.findMany({ where: { joinTokenId: leaked.id } });
    expect(revoked.map((c) => c.serial).sort()).toEqual([...serials].sort());
    // And every proxy is told: a T2 sidecar's config lists all three.
    await expect
      .poll(async () => (await configOf(s.charlie)).revokedCertificates?.map((c) => c.serial))
      .toEqual(expect.arrayContaining(serials.map(hex)));
  });
});

describe("a revocation this replica did not hear (the notification was lost)", () => {
  it("is found by housekeeping, and the token's proxies are evicted all the same", async () => {
    const quiet = await createJoinToken(db, SYSTEM_ACTOR, { namespace: NS, service: "echo" });
    const echo = await sidecar("echo", quiet.token, cpA);
    expect(echo.m.connected()).toBe(true);
    // Revoked behind the replicas' backs: no NOTIFY, as when the LISTEN connection was down at the time.
    await db.joinToken.update({ where: { id: quiet.id }, data: { revokedAt: new Date() } });
    await expect.poll(() => echo.m.connected(), { timeout: 8_000, interval: 50 }).toBe(false);
    expect(echo.logs.join("\n")).toMatch(/join token revoked/);
  });
});
