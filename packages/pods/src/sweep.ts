// Leftovers: what beds of dead processes left behind (a test run killed with SIGKILL, a crashed demo). A bed's
// record names everything it made; once the owner process is gone (PID and start time), `sweep` removes those
// things and the record. It never touches what no record names, and checks each thing is the bed's (names
// with the bed's id, pods' eth0 tagged with it) before removing it. `list` shows beds, and what looks like a
// bed's but has no record (reported only, for a human to judge).
import { readdirSync } from "node:fs";
import { isBedId, ownerTag, PREFIX } from "./names.js";
import { ownerAlive, readRecords, withLock } from "./state.js";
import { NETNS_DIR, requireSupport, runSync, type Tools } from "./system.js";
import { teardownBed } from "./teardown.js";

export interface SweptBed {
  id: string;
  name: string;
  ownerPid: number;
  /** The pods removed (by name). */
  pods: string[];
  /** Things the record named that were not the bed's any more, left alone. */
  skipped: string[];
}

export interface SweepReport {
  removed: SweptBed[];
  /** Beds whose leftovers could not all be removed; their records stay for the next sweep. */
  failed: { id: string; problems: string[] }[];
  /** State files that could not be read: left alone. */
  unreadable: { id: string; problem: string }[];
}

/** Removes the leftovers of every bed whose owner process is gone. `createBed` calls it first. */
export async function sweep(): Promise<SweepReport> {
  const tools = requireSupport();
  return withLock(() => sweepLocked(tools));
}

/** @internal `sweep`, for a caller holding the lock. */
export function sweepLocked(tools: Tools): SweepReport {
  const report: SweepReport = { removed: [], failed: [], unreadable: [] };
  for (const { id, record, problem } of readRecords()) {
    if (!record) {
      report.unreadable.push({ id, problem: problem ?? "unreadable" });
      continue;
    }
    if (ownerAlive(record.owner)) continue;
    const { problems, skipped } = teardownBed(tools, record, { verify: true });
    if (problems.length > 0) report.failed.push({ id, problems });
    else {
      report.removed.push({
        id,
        name: record.name,
        ownerPid: record.owner.pid,
        pods: record.pods.map((p) => p.name),
        skipped,
      });
    }
  }
  return report;
}

export interface BedListing {
  id: string;
  name: string;
  ownerPid: number;
  /** False: the owner is gone and the next sweep removes the bed. */
  alive: boolean;
  subnet: string;
  gateway: string;
  createdAt: string;
  pods: { name: string; ip: string; host: string }[];
}

export interface Listing {
  beds: BedListing[];
  unreadable: { id: string; problem: string }[];
  /**
   * Namespaces and root links that look like a bed's (the tpb prefix, or a pod's eth0 tagged by a bed) but that
   * no record names. Never removed automatically: remove them by hand (`ip netns del`, `ip link del`).
   */
  untracked: string[];
}

export async function list(): Promise<Listing> {
  const tools = requireSupport();
  const records = readRecords();
  const ids = new Set(records.map((r) => r.id));
  const beds: BedListing[] = [];
  const named = new Set<string>();
  for (const { record } of records) {
    if (!record) continue;
    for (const p of record.pods) named.add(p.name);
    beds.push({
      id: record.id,
      name: record.name,
      ownerPid: record.owner.pid,
      alive: ownerAlive(record.owner),
      subnet: record.subnet,
      gateway: record.gateway,
      createdAt: record.createdAt,
      pods: record.pods.map(({ name, ip, host }) => ({ name, ip, host })),
    });
  }
  const untracked: string[] = [];
  const bedIdIn = (name: string) =>
    name.startsWith(PREFIX) ? name.slice(PREFIX.length, PREFIX.length + 6) : "";
  for (const ns of readdirSafe(NETNS_DIR)) {
    if (ns.startsWith(PREFIX)) {
      if (!ids.has(bedIdIn(ns))) untracked.push(`namespace ${ns} (a bed's, no record)`);
    } else if (!named.has(ns)) {
      const tag = eth0Alias(tools, ns);
      const id = tag?.startsWith("trellis-pods:") ? tag.slice("trellis-pods:".length) : undefined;
      if (id && isBedId(id) && tag === ownerTag(id) && !ids.has(id)) {
        untracked.push(`namespace ${ns} (a pod of bed ${id}, no record)`);
      }
    }
  }
  for (const link of readdirSafe("/sys/class/net")) {
    if (link.startsWith(PREFIX) && !ids.has(bedIdIn(link)))
      untracked.push(`link ${link} (a bed's, no record)`);
  }
  return {
    beds,
    unreadable: records.flatMap((r) => (r.record ? [] : [{ id: r.id, problem: r.problem ?? "unreadable" }])),
    untracked,
  };
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function eth0Alias(tools: Tools, netns: string): string | undefined {
  try {
    const [link] = JSON.parse(runSync(tools.ip, ["-n", netns, "-j", "link", "show", "eth0"])) as {
      ifalias?: string;
    }[];
    return link?.ifalias;
  } catch {
    return undefined;
  }
}
