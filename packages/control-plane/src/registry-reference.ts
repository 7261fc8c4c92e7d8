// The registry as `loadRegistry` read it before decision 019 (Prisma's findMany with include): the reference
// its raw statement is checked against, in registry.test.ts and bench/registry-read.mjs. Not used by the
// control plane itself.
import type { Db } from "@trellis/db";
import type { RegistryService } from "./registry.js";

export async function prismaRegistryReference(db: Db): Promise<RegistryService[]> {
  const rows = await db.service.findMany({
    orderBy: [{ namespace: "asc" }, { name: "asc" }],
    include: {
      workloads: {
        where: { status: "connected" },
        orderBy: { id: "asc" },
        select: { id: true, version: true, address: true, identity: true, labels: true },
      },
    },
  });
  return rows.map((s) => ({
    namespace: s.namespace,
    name: s.name,
    protocol: s.protocol,
    port: s.port,
    vip: s.vip,
    workloads: s.workloads.map((w) => ({ ...w, labels: (w.labels ?? {}) as Record<string, string> })),
  }));
}
