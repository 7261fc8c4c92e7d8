// Service virtual IPs against a real PostgreSQL (a database of this file's own: replicas here backfill every
// service without a VIP, and small blocks must not meet other files' services): allocation as proxies join,
// probing and a full block, two replicas allocating and backfilling at once, and the VIPs in the configs
// proxies receive.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SERVICE_VIP_CIDR, intToIpv4, ipv4InCidr, type ProxyNode } from "@trellis/contracts";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { startTestControlPlane, TEST_MESH_SECRET, type TestControlPlane } from "../test/support.js";
import { meshCompiler, startControlPlane } from "./index.js";
import { registerWorkload } from "./registry.js";
import type { LightProxy } from "./testing.js";
import { inVipBlock, VipAllocator, vipBlock, vipHome } from "./vips.js";

let tdb: TestDatabase;
let db: Db;
/** A join token row for direct registrations (they only record which token a proxy joined with). */
let joinTokenId = "";
const replicas: TestControlPlane[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase("cp_vips");
  db = createDb(tdb.url);
  joinTokenId = (
    await db.joinToken.create({
      data: { namespace: "vips", tokenHash: randomBytes(16).toString("hex"), prefix: "tj1.vips" },
    })
  ).id;
}, 120_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.close().catch(() => {})));
  await db?.$disconnect();
  await tdb?.drop();
});

/** The address a service's name hashes to in `cidr`: where its probe starts. */
function home(cidr: string, namespace: string, name: string): string {
  const block = vipBlock(cidr);
  return intToIpv4(block.first + vipHome(block, namespace, name));
}

/** The hello of a proxy of `namespace/service`. */
const node = (namespace: string, service: string): ProxyNode => ({
  namespace,
  service,
  version: "v1",
  address: "127.0.0.1:15006",
  labels: {},
});

/** Registers a proxy of `namespace/name` as a replica does when one joins, allocating with `vips`. */
async function join(vips: VipAllocator, namespace: string, name: string): Promise<void> {
  await registerWorkload(db, {
    node: node(namespace, name),
    identity: `spiffe://trellis.local/ns/${namespace}/sa/${name}`,
    joinTokenId,
    replicaId: "test",
    certificate: { serial: randomBytes(8).toString("hex"), notAfter: new Date(Date.now() + 3_600_000) },
    vips,
  });
}

async function vipsOf(namespace: string): Promise<Map<string, string | null>> {
  const rows = await db.service.findMany({ where: { namespace }, select: { name: true, vip: true } });
  return new Map(rows.map((r) => [r.name, r.vip]));
}

function allocator(cidr: string, log: (l: string) => void = () => {}): VipAllocator {
  return new VipAllocator({ db, block: vipBlock(cidr), log });
}

describe("the VIP block", () => {
  it("hands out every address of the block but its first and last", () => {
    const block = vipBlock(DEFAULT_SERVICE_VIP_CIDR);
    expect(block).toEqual({ cidr: "240.0.0.0/4", first: 0xf0000001, size: 2 ** 28 - 2 });
    expect(inVipBlock(block, "240.0.0.0")).toBe(false);
    expect(inVipBlock(block, "240.0.0.1")).toBe(true);
    expect(inVipBlock(block, "255.255.255.254")).toBe(true);
    expect(inVipBlock(block, "255.255.255.255")).toBe(false);
    expect(inVipBlock(block, "10.0.0.1")).toBe(false);
    // Written with host bits set, it means the block they fall in.
    expect(vipBlock("10.1.2.3/16")).toMatchObject({ cidr: "10.1.0.0/16", size: 65534 });
    expect(vipBlock("192.0.2.0/30")).toMatchObject({ size: 2 });
  });

  it("refuses a block that would hold no VIP, or is no block, saying what it wants", () => {
    for (const bad of ["192.0.2.0/31", "192.0.2.7/32", "192.0.2.7", "240.0.0.0/33", "fd00::/8", "nonsense"])
      expect(() => vipBlock(bad), bad).toThrow(/^the service VIP block ".*" must be /);
    expect(() => vipBlock("192.0.2.0/31")).toThrow(/at least 4 addresses/);
  });

  it("starts each service's probe where its name hashes to: the same place every time, anywhere in the block", () => {
    const block = vipBlock("10.0.0.0/8");
    expect(vipHome(block, "shop", "reviews")).toBe(vipHome(block, "shop", "reviews"));
    expect(vipHome(block, "shop", "reviews")).not.toBe(vipHome(block, "billing", "reviews"));
    const homes = Array.from({ length: 1000 }, (_, i) => vipHome(block, "ns", `svc-${i}`));
    expect(Math.min(...homes)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...homes)).toBeLessThan(block.size);
    // Spread over the block, not bunched at its start.
    expect(homes.filter((h) => h >= block.size / 2).length).toBeGreaterThan(400);
  });
});

describe("allocation as proxies register", () => {
  it("gives a new service the address its name hashes to, keeps it as more proxies join, and gives it again to the same name", async () => {
    const vips = allocator(DEFAULT_SERVICE_VIP_CIDR);
    await join(vips, "stable", "reviews");
    const vip = (await vipsOf("stable")).get("reviews");
    expect(vip).toBe(home(DEFAULT_SERVICE_VIP_CIDR, "stable", "reviews"));
    expect(ipv4InCidr(vip!, DEFAULT_SERVICE_VIP_CIDR)).toBe(true);

    await join(vips, "stable", "reviews");
    await join(allocator(DEFAULT_SERVICE_VIP_CIDR), "stable", "reviews");
    expect((await vipsOf("stable")).get("reviews")).toBe(vip);

    // Gone and back (or made again in another database): the same name asks for the same address.
    await db.service.deleteMany({ where: { namespace: "stable" } });
    await join(vips, "stable", "reviews");
    expect((await vipsOf("stable")).get("reviews")).toBe(vip);
    await db.service.deleteMany({ where: { namespace: "stable" } });
  });

  it("gives 200 services 200 distinct VIPs, each inside the block", async () => {
    const vips = allocator(DEFAULT_SERVICE_VIP_CIDR);
    const names = Array.from({ length: 200 }, (_, i) => `svc-${i}`);
    for (let i = 0; i < names.length; i += 20)
      await Promise.all(names.slice(i, i + 20).map((n) => join(vips, "many", n)));
    const got = await vipsOf("many");
    expect(got.size).toBe(200);
    const addresses = [...got.values()];
    expect(new Set(addresses).size).toBe(200);
    for (const [name, vip] of got) {
      expect(vip !== null && ipv4InCidr(vip, DEFAULT_SERVICE_VIP_CIDR), name).toBe(true);
      // In a block this large every home is free: each service got exactly its own.
      expect(vip).toBe(home(DEFAULT_SERVICE_VIP_CIDR, "many", name));
    }
    await db.service.deleteMany({ where: { namespace: "many" } });
  });

  it("probes past taken addresses in a crowded block, with two allocators racing, and never hands out one address twice", async () => {
    const cidr = "10.77.0.0/24"; // 254 addresses for 200 services: homes collide all the time
    const [a, b] = [allocator(cidr), allocator(cidr)];
    const names = Array.from({ length: 200 }, (_, i) => `svc-${i}`);
    for (let i = 0; i < names.length; i += 25)
      await Promise.all(names.slice(i, i + 25).map((n, j) => join(j % 2 === 0 ? a : b, "crowded", n)));
    const got = [...(await vipsOf("crowded")).values()];
    expect(got).toHaveLength(200);
    expect(new Set(got).size).toBe(200);
    for (const vip of got) expect(vip !== null && inVipBlock(a.block, vip), String(vip)).toBe(true);
    // The homes did collide: probing, not luck, kept them apart.
    const moved = [...(await vipsOf("crowded"))].filter(([name, vip]) => vip !== home(cidr, "crowded", name));
    expect(moved.length).toBeGreaterThan(20);
    await db.service.deleteMany({ where: { namespace: "crowded" } });
  });

  it("leaves a service without a VIP when the block is full, and says so; the service still registers", async () => {
    const logs: string[] = [];
    const vips = allocator("10.78.0.0/29", (l) => logs.push(l)); // 6 addresses
    for (let i = 0; i < 8; i++) await join(vips, "full", `svc-${i}`);
    const got = await vipsOf("full");
    expect(got.size).toBe(8);
    const given = [...got.values()].filter((v) => v !== null);
    expect(given.sort()).toEqual([
      "10.78.0.1",
      "10.78.0.2",
      "10.78.0.3",
      "10.78.0.4",
      "10.78.0.5",
      "10.78.0.6",
    ]);
    expect(logs.filter((l) => l.includes("the service VIP block 10.78.0.0/29 is full"))).toHaveLength(2);
    await db.service.deleteMany({ where: { namespace: "full" } });
  });
});

/**
 * A replica on this file's database with the real compiler, and a join token for `namespace`. The first one
 * creates this database's CA with the shared test secret.
 */
async function replica(namespace: string, cidr: string, logs: string[] = []): Promise<TestControlPlane> {
  const r = await startTestControlPlane(db, namespace, {
    databaseUrl: tdb.url,
    compile: meshCompiler((l) => logs.push(l)),
    heartbeatMs: 500,
    debounceMs: 20,
    registryIntervalMs: 100,
    serviceVipCidr: cidr,
    log: (l) => logs.push(l),
  });
  replicas.push(r);
  return r;
}

/** `name → vip` of the outbound services in the last config `p` received (null: an entry without one). */
function configVips(p: LightProxy): Map<string, string | null> {
  const cfg = p.configs.at(-1)?.config as { services?: { name: string; vip?: string }[] } | undefined;
  return new Map((cfg?.services ?? []).map((s) => [s.name, s.vip ?? null]));
}

describe("two replicas on one database", () => {
  it("allocate unique VIPs for proxies joining both at once, and every proxy's config carries each service's VIP", async () => {
    const cidr = "10.79.0.0/27"; // 30 addresses for 25 services: the replicas' homes collide
    const [a, b] = await Promise.all([replica("mesh", cidr), replica("mesh", cidr)]);
    const names = Array.from({ length: 24 }, (_, i) => `svc-${i}`);
    // Each service on one replica, and one service joining both at the same instant.
    const joined = await Promise.all([
      ...names.map((n, i) => (i % 2 === 0 ? a : b).join({ node: node("mesh", n) })),
      a.join({ node: node("mesh", "shared") }),
      b.join({ node: node("mesh", "shared") }),
    ]);
    await Promise.all(joined.map((p) => p.until(() => p.workloadId !== null, 20_000, "welcome")));

    const inDb = await vipsOf("mesh");
    expect(inDb.size).toBe(25);
    const addresses = [...inDb.values()];
    expect(new Set(addresses).size).toBe(25);
    for (const vip of addresses) expect(vip !== null && ipv4InCidr(vip, cidr), String(vip)).toBe(true);
    expect([...inDb].filter(([name, vip]) => vip !== home(cidr, "mesh", name)).length).toBeGreaterThan(0);

    // On either replica, a proxy's outbound services carry the VIPs just allocated (the registry is read
    // again after every join), its own service among them.
    for (const p of [joined[0]!, joined[1]!])
      await p.until(
        () => {
          const got = configVips(p);
          return [...inDb].every(([name, vip]) => got.get(name) === vip);
        },
        20_000,
        "every service's VIP in the config",
      );
  });

  it("backfill services made without a VIP when they start, together, and keep a VIP from another block", async () => {
    const cidr = "10.80.0.0/16";
    const logsA: string[] = [];
    const logsB: string[] = [];
    // Rows as the migration leaves them (vip NULL), and one given a VIP from an earlier block.
    await db.service.createMany({
      data: [
        ...Array.from({ length: 20 }, (_, i) => ({ namespace: "legacy", name: `svc-${i}` })),
        { namespace: "legacy", name: "moved", vip: "10.81.0.9" },
      ],
    });
    await Promise.all([replica("legacy", cidr, logsA), replica("legacy", cidr, logsB)]);
    const got = await vipsOf("legacy");
    expect(got.get("moved")).toBe("10.81.0.9");
    got.delete("moved");
    expect(got.size).toBe(20);
    for (const [name, vip] of got) expect(vip, name).toBe(home(cidr, "legacy", name));
    // Every service still without a VIP anywhere in the database got one (the earlier tests' too).
    expect(await db.service.count({ where: { vip: null } })).toBe(0);
    // Each replica says once that VIPs of other blocks are kept (the earlier test's replicas' too).
    const outside = (await db.service.findMany({ select: { vip: true } })).filter(
      (s) => s.vip !== null && !ipv4InCidr(s.vip, cidr),
    ).length;
    for (const logs of [logsA, logsB])
      expect(logs.filter((l) => l.includes("outside the configured block 10.80.0.0/16"))).toEqual([
        expect.stringMatching(
          new RegExp(
            `^control plane: keeping the VIPs of ${outside} services outside .*legacy/moved 10\\.81\\.0\\.9`,
          ),
        ),
      ]);
    // A VIP never moves: a replica with yet another block leaves every one as it is.
    const before = await db.service.findMany({ select: { id: true, vip: true }, orderBy: { id: "asc" } });
    await replica("legacy", "10.82.0.0/16");
    expect(await db.service.findMany({ select: { id: true, vip: true }, orderBy: { id: "asc" } })).toEqual(
      before,
    );
  });

  it("push a VIP given at a replica's start to the proxies of the others", async () => {
    const cidr = "10.83.0.0/16";
    const a = await replica("late", cidr);
    const caller = await a.join({ node: node("late", "caller") });
    await caller.until(() => configVips(caller).has("caller"), 10_000, "a first config");
    // A service an older replica registered without a VIP: the proxy knows it, without one.
    await db.service.create({ data: { namespace: "late", name: "old" } });
    await a.cp.refresh();
    await caller.until(() => configVips(caller).get("old") === null, 10_000, "old without a VIP");
    // A replica starts, gives it one and tells the others; the first one's proxy gets it.
    await replica("late", cidr);
    await caller.until(
      () => configVips(caller).get("old") === home(cidr, "late", "old"),
      10_000,
      "old's VIP from the other replica",
    );
  });
});

describe("the control plane's options", () => {
  it("refuses to start with a block that holds no VIP, before touching the database", async () => {
    await expect(
      startControlPlane({
        databaseUrl: "postgresql://127.0.0.1:1/unreachable",
        secret: TEST_MESH_SECRET,
        compile: meshCompiler(),
        serviceVipCidr: "240.0.0.0/31",
      }),
    ).rejects.toThrow(/service VIP block "240\.0\.0\.0\/31" must be a CIDR block of at least 4 addresses/);
  });
});
