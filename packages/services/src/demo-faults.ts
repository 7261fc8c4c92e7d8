// The demo's fault switch (decision 023, "The demo's fault switch"): editors of a namespace make one of its demo
// workloads fail on purpose. A row of DemoFault is a fault in force; the process that runs the demo
// (`trellis up --demo`) reads the table and applies it to its apps. Only a workload the demo runs can fail:
// one connected with the label `demo: "true"` (what `trellis up --demo` gives each of its sidecars).
import {
  demoFaultOf,
  ZDemoFaultListInput,
  ZDemoFaultSet,
  type DemoFault,
  type DemoFaultList,
} from "@trellis/contracts";
import type { Db } from "@trellis/db";
import { readableNamespaces, requireRole, type Actor } from "./actor.js";
import { audit } from "./audit.js";
import { AppError, parseInput } from "./errors.js";

/** Why no demo workload answers to a target: the demo is not running, or runs no such version. */
async function requireDemoWorkload(db: Db, t: { namespace: string; service: string; version: string }) {
  const w = await db.workload.findFirst({
    where: {
      version: t.version,
      status: "connected",
      service: { namespace: t.namespace, name: t.service },
      labels: { path: ["demo"], equals: "true" },
    },
    select: { id: true },
  });
  if (w === null)
    throw new AppError(
      "NOT_FOUND",
      `no demo workload ${t.service} ${t.version} is running in ${t.namespace}: the fault switch works on the demo \`trellis up --demo\` runs`,
    );
}

const toFault = (r: {
  namespace: string;
  service: string;
  version: string;
  percent: number;
  latencyMs: number;
}): DemoFault => ({
  namespace: r.namespace,
  service: r.service,
  version: r.version,
  percent: r.percent,
  latencyMs: r.latencyMs,
});

/** The faults in force in what the actor may read (`namespace`: only there). */
export async function listDemoFaults(db: Db, actor: Actor, rawInput: unknown): Promise<DemoFaultList> {
  const input = parseInput(ZDemoFaultListInput, rawInput ?? {});
  if (input.namespace !== undefined) requireRole(actor, "viewer", input.namespace);
  const readable = readableNamespaces(actor);
  const rows = await db.demoFault.findMany({
    where: {
      ...(input.namespace !== undefined
        ? { namespace: input.namespace }
        : readable === "all"
          ? {}
          : { namespace: { in: readable } }),
    },
    orderBy: [{ namespace: "asc" }, { service: "asc" }, { version: "asc" }],
  });
  return { items: rows.map(toFault) };
}

/**
 * Sets (or with 0 % and no latency, clears) a demo workload's fault. Editors of its namespace; audited. Returns
 * the faults in force in that namespace afterwards.
 */
export async function setDemoFault(db: Db, actor: Actor, rawInput: unknown): Promise<DemoFaultList> {
  const input = parseInput(ZDemoFaultSet, rawInput);
  requireRole(actor, "editor", input.namespace);
  const fault = demoFaultOf(input);
  const key = { namespace: input.namespace, service: input.service, version: input.version };
  // Clearing needs no running demo: a fault left behind by a demo that stopped can always be removed.
  if (fault !== null) await requireDemoWorkload(db, key);
  await db.$transaction(async (tx) => {
    const before = await tx.demoFault.findUnique({ where: { namespace_service_version: key } });
    if (fault === null) {
      await tx.demoFault.deleteMany({ where: key });
    } else {
      const data = { percent: fault.percent, latencyMs: fault.latencyMs, setBy: actor.name };
      await tx.demoFault.upsert({
        where: { namespace_service_version: key },
        create: { ...key, ...data },
        update: data,
      });
    }
    await audit(tx, actor, {
      action: fault === null ? "demoFault.clear" : "demoFault.set",
      targetKind: "DemoFault",
      targetId: `${input.service}/${input.version}`,
      namespace: input.namespace,
      details: {
        from: before ? { percent: before.percent, latencyMs: before.latencyMs } : null,
        to: fault ? { percent: fault.percent, latencyMs: fault.latencyMs } : null,
      },
    });
  });
  return listDemoFaults(db, actor, { namespace: input.namespace });
}

/** Every fault in force (no permission check): what the demo's runner applies. */
export async function demoFaultsInForce(db: Pick<Db, "demoFault">): Promise<DemoFault[]> {
  return (await db.demoFault.findMany()).map(toFault);
}
