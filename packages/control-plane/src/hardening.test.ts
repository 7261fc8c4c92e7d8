// Hardening after issue 15: what one bad registry row, one chatty proxy or one namespace-wide join token can cost
// the rest of the mesh. Through the real stream (TLS, WebSocket, join tokens from the services layer, the real
// compiler, PostgreSQL).
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { STREAM_CLOSE, type ProxyNode } from "@trellis/contracts";
import { createDb } from "@trellis/db";
import { createJoinToken, SYSTEM_ACTOR } from "@trellis/services";
import { meshCompiler, startControlPlane } from "./index.js";
import { generateKeyAndCsr, startMeshProxy } from "@trellis/dataplane/mesh";
import type { LightProxy } from "./testing.js";
import { freePort, startTestControlPlane, TEST_MESH_SECRET, type TestControlPlane } from "../test/support.js";

const STREAM_CAP = 3;
const url = inject("databaseUrl");
const db = createDb(url);

let mesh: TestControlPlane;
const logs: string[] = [];

function join(node: Partial<ProxyNode> & { service: string }, token = mesh.token): Promise<LightProxy> {
  return mesh.join({
    token,
    node: { namespace: "demo", version: "v1", address: "127.0.0.1:1", labels: {}, ...node } as ProxyNode,
  });
}

/** A token of its own, for a test that must not meet the stream cap through the others' proxies. */
const freshToken = () => mesh.joinToken("demo");

async function settled(p: LightProxy): Promise<void> {
  await p.until(() => p.appliedVersion !== null || p.closeCode !== null, 10_000, "config or close");
}

const servicesOf = (p: LightProxy) =>
  (p.held()?.config as { services?: { namespace: string; name: string; endpoints: unknown[] }[] } | undefined)
    ?.services ?? [];

beforeAll(async () => {
  mesh = await startTestControlPlane(db, "demo", {
    databaseUrl: url,
    compile: meshCompiler((l) => logs.push(l)),
    debounceMs: 20,
    registryIntervalMs: 50,
    maxStreamsPerJoinToken: STREAM_CAP,
    log: (l) => logs.push(l),
  });
});

afterAll(async () => {
  await mesh?.close();
  await db.$disconnect();
});

describe("a bad registry row", () => {
  it("costs its own endpoint, not every proxy's config", async () => {
    // A row written before hellos were validated: its address is not host:port.
    const svc = await db.service.create({ data: { namespace: "demo", name: "hardening-legacy" } });
    const bad = await db.workload.create({
      data: {
        serviceId: svc.id,
        version: "v1",
        address: "not-an-address",
        identity: "spiffe://trellis.local/ns/demo/sa/hardening-legacy",
        status: "connected",
      },
    });
    try {
      await mesh.cp.refresh();
      const web = await join({ service: "hardening-web" });
      await settled(web);
      expect(web.closeCode).toBeNull();
      expect(web.appliedVersion).not.toBeNull();
      // Its own registration reaches it in a later push: the mesh keeps being compiled.
      await web.until(
        () => servicesOf(web).some((s) => s.name === "hardening-web" && s.endpoints.length === 1),
        10_000,
        "web's endpoint",
      );
      expect(servicesOf(web).find((s) => s.name === "hardening-legacy")?.endpoints).toEqual([]);
      // Logged once, however many recomputes and proxy groups meet it.
      await join({ service: "hardening-reviews" }).then(settled);
      await mesh.cp.refresh();
      expect(
        logs.filter((l) => l.includes(`workload ${bad.id}`) && l.includes("not host:port")),
      ).toHaveLength(1);
    } finally {
      await db.workload.delete({ where: { id: bad.id } });
      await db.service.delete({ where: { id: svc.id } });
    }
  });
});

describe("certificate renewals", () => {
  it("are limited per stream: a burst, then refused with a code, and the stream stays up", async () => {
    const p = await join({ service: "renewer" });
    await settled(p);
    const before = await db.issuedCertificate.count({ where: { workloadId: p.workloadId! } });
    for (let i = 0; i < 6; i++) p.sendCsr((await generateKeyAndCsr()).csrPem);
    await p.until(
      () => p.errors.filter((e) => e.startsWith("CERT_RENEWAL_LIMITED")).length >= 3,
      10_000,
      "refused renewals",
    );
    expect(p.errors.filter((e) => e.startsWith("CERT_RENEWAL_LIMITED"))).toHaveLength(3);
    expect(await db.issuedCertificate.count({ where: { workloadId: p.workloadId! } })).toBe(before + 3);
    // The stream is still served.
    await new Promise((r) => setTimeout(r, 200));
    expect(p.closeCode).toBeNull();
  });

  it("never refuse the real proxy, which renews at half-life (2 s certificates here: a renewal a second)", async () => {
    const short = await startControlPlane({
      databaseUrl: url,
      secret: TEST_MESH_SECRET,
      compile: meshCompiler(),
      port: 0,
      certTtlMs: 2_000,
    });
    const [inbound, outbound, admin, app] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const plog: string[] = [];
    const m = startMeshProxy({
      controlPlaneUrls: [short.url],
      token: mesh.token,
      node: {
        namespace: "demo",
        service: "renews",
        version: "v1",
        address: `127.0.0.1:${inbound}`,
        labels: {},
      },
      app: { port: app },
      listeners: {
        inbound: { address: "127.0.0.1", port: inbound },
        outbound: { address: "127.0.0.1", port: outbound },
        admin: { address: "127.0.0.1", port: admin },
      },
      drainTimeoutMs: 200,
      log: (l) => plog.push(l),
    });
    try {
      await m.ready;
      await expect
        .poll(() => plog.filter((l) => l.includes("certificate renewed")).length, { timeout: 15_000 })
        .toBeGreaterThanOrEqual(6);
      expect(plog.filter((l) => l.includes("CERT_RENEWAL_LIMITED"))).toEqual([]);
    } finally {
      await m.close();
      await short.close();
    }
  });
});

describe("streams per join token", () => {
  it(`are capped per replica (${STREAM_CAP} here): one more is refused with a code; one that leaves frees a place`, async () => {
    const token = await freshToken();
    const open: LightProxy[] = [];
    for (let i = 0; i < STREAM_CAP; i++) {
      const p = await join({ service: `capped-${i}` }, token);
      await settled(p);
      expect(p.closeCode).toBeNull();
      open.push(p);
    }
    const extra = await join({ service: "capped-extra" }, token);
    await extra.until(() => extra.closeCode !== null, 10_000, "refusal");
    expect(extra.closeCode).toBe(STREAM_CLOSE.tooManyStreams);
    expect(extra.errors.join("\n")).toMatch(/STREAM_LIMIT/);
    // Other tokens are not affected.
    const other = await join({ service: "capped-other" }, await freshToken());
    await settled(other);
    expect(other.closeCode).toBeNull();
    await open[0]!.close();
    await expect
      .poll(async () => {
        const again = await join({ service: "capped-again" }, token);
        await settled(again);
        return again.closeCode;
      })
      .toBeNull();
  });
});

describe("reserved names", () => {
  it("a hello for the service `unknown` (telemetry's word for no service) is refused", async () => {
    const p = await join({ service: "unknown" }, await freshToken());
    await settled(p);
    expect(p.closeCode).toBe(STREAM_CLOSE.helloRefused);
    expect(p.errors.join("\n")).toMatch(/HELLO_INVALID: node\.service/);
  });

  it("a join token for the namespace `unknown` is refused", async () => {
    await expect(createJoinToken(db, SYSTEM_ACTOR, { namespace: "unknown" })).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
      issues: [expect.objectContaining({ path: "namespace", message: expect.stringMatching(/reserved/) })],
    });
  });
});
