// The registry as every recompute reads it (`loadRegistry`), against a real PostgreSQL filled the way joins
// fill it (registerWorkload, disconnectWorkload): the raw LEFT JOIN gives exactly the services, workloads,
// order and key order that the Prisma `findMany` with `include` it replaced gave (docs/decisions/019).
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SERVICE_VIP_CIDR, type ProxyNode } from "@trellis/contracts";
import { createDb, type Db } from "@trellis/db";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { disconnectWorkload, loadRegistry, registerWorkload } from "./registry.js";
import { VipAllocator, vipBlock } from "./vips.js";
import { prismaRegistryReference } from "./registry-reference.js";

let tdb: TestDatabase;
let db: Db;
let joinTokenId = "";

beforeAll(async () => {
  tdb = await createTestDatabase("cp_registry");
  db = createDb(tdb.url);
  joinTokenId = (
    await db.joinToken.create({
      data: { namespace: "any", tokenHash: randomBytes(16).toString("hex"), prefix: "tj1.registry" },
    })
  ).id;
}, 120_000);

afterAll(async () => {
  await db?.$disconnect();
  await tdb?.drop();
});

describe("loadRegistry", () => {
  it("reads the same services and workloads as the Prisma query it replaced, in the same order", async () => {
    const vips = new VipAllocator({ db, block: vipBlock(DEFAULT_SERVICE_VIP_CIDR), log: () => {} });
    const joined: { id: string; connectedAt: Date }[] = [];
    // Names whose order differs between byte order and some collations ("a-b", "a1", "ab", "b"), two
    // namespaces, several versions, labels of several keys, a TCP service, workloads that left.
    const services = [
      ["shop", "a-b"],
      ["shop", "ab"],
      ["shop", "a1"],
      ["shop", "b"],
      ["data", "mysql"],
      ["data", "cache-2"],
      ["billing", "ledger"],
    ] as const;
    let i = 0;
    for (const [namespace, service] of services)
      for (let k = 0; k < 4; k++) {
        i++;
        const node: ProxyNode = {
          namespace,
          service,
          version: `v${k % 2}`,
          address: `10.0.${i}.${k}:15006`,
          labels: k % 2 ? { zone: `z${k}`, app: service, "trellis.dev/canary": "yes" } : {},
          ...(service === "mysql" ? { tcpPorts: [3306] } : {}),
        };
        joined.push(
          await registerWorkload(db, {
            node,
            identity: `spiffe://trellis.local/ns/${namespace}/sa/${service}`,
            joinTokenId,
            replicaId: "test",
            certificate: {
              serial: randomBytes(16).toString("hex"),
              notAfter: new Date(Date.now() + 3_600_000),
            },
            vips,
          }),
        );
      }
    // Some leave: one of "ab", and every workload of "ledger" (a service with no endpoint left).
    for (const j of [joined[5]!, ...joined.slice(24, 28)]) await disconnectWorkload(db, j.id, j.connectedAt);

    const { services: now } = await loadRegistry(db);
    const before = await prismaRegistryReference(db);
    expect(now).toStrictEqual(before);
    // Key order too: the compiler's output (and so config versions, content hashes) follows it.
    expect(JSON.stringify(now)).toBe(JSON.stringify(before));
    // The data covers what the comparison must: all services, an empty one, a TCP port, labels, a departure.
    expect(now.map((s) => `${s.namespace}/${s.name}`)).toHaveLength(services.length);
    expect(now.find((s) => s.name === "ledger")!.workloads).toEqual([]);
    expect(now.find((s) => s.name === "mysql")).toMatchObject({ protocol: "tcp", port: 3306 });
    expect(now.find((s) => s.name === "ab")!.workloads).toHaveLength(3);
    expect(now.flatMap((s) => s.workloads).filter((w) => Object.keys(w.labels).length === 3)).toHaveLength(
      11,
    );
    expect(now.every((s) => s.vip !== null)).toBe(true);
  });
});
