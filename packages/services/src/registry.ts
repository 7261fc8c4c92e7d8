import { ZServiceListInput, type ServiceList, type ServiceListInput } from "@trellis/contracts";
import type { Db } from "@trellis/db";
import { readableNamespaces, requireRole, type Actor } from "./actor.js";
import { parseInput } from "./errors.js";

/** Services the actor may see, with their versions, how many of their proxies are connected, and their VIPs. */
export async function listServices(db: Db, actor: Actor, rawInput: ServiceListInput): Promise<ServiceList> {
  const input = parseInput(ZServiceListInput, rawInput);
  if (input.namespace) requireRole(actor, "viewer", input.namespace);
  const readable = readableNamespaces(actor);
  if (readable !== "all" && readable.length === 0) requireRole(actor, "viewer");
  const where = input.namespace
    ? { namespace: input.namespace }
    : readable === "all"
      ? {}
      : { namespace: { in: readable } };
  const rows = await db.service.findMany({
    where,
    orderBy: [{ namespace: "asc" }, { name: "asc" }],
    include: { workloads: { select: { version: true, status: true } } },
  });
  return {
    items: rows.map((s) => ({
      namespace: s.namespace,
      name: s.name,
      versions: [...new Set(s.workloads.map((w) => w.version))].sort(),
      workloads: s.workloads.length,
      healthyWorkloads: s.workloads.filter((w) => w.status === "connected").length,
      vip: s.vip,
      createdAt: s.createdAt.toISOString(),
    })),
  };
}
