// Removing what a bed made, from its record: one synchronous path shared by `bed.destroy()`, the exit hook
// (where only synchronous code runs) and `sweep()` (for beds whose owner died). Each thing is checked to exist
// (and, for a sweep, to be the bed's) before it is removed; the removals then go to one `ip -force -batch`, so
// a bed of any size costs one process, and one stuck piece does not stop the rest. What is still there
// afterwards is reported, and the record stays for the next sweep.
//
// The kernel frees a deleted namespace's interfaces asynchronously, after its last reference goes; the
// gateway link, the only one in the root namespace, is therefore deleted explicitly (deleting one end of a
// veth deletes both), so it is gone when this returns.
import { rmdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { PodsError } from "./errors.js";
import { bedNetns, gatewayLink, ownerTag } from "./names.js";
import { killNow, netnsPids } from "./processes.js";
import { removeRecord, type BedRecord, type PodRecord } from "./state.js";
import { netnsExists, rootLinkExists, runSync, type Tools } from "./system.js";

export const ETC_NETNS = "/etc/netns";

/** What `ip netns exec` bind-mounts into a pod: /etc/netns/<pod>/resolv.conf over /etc/resolv.conf. */
export const resolvConfPath = (pod: string) => join(ETC_NETNS, pod, "resolv.conf");

export interface TeardownResult {
  /** What could not be removed; the record stays, so the next sweep tries again. */
  problems: string[];
  /** What the record names but is not the bed's (left alone, forgotten). */
  skipped: string[];
}

export interface TeardownOptions {
  /**
   * Check that each pod namespace is the bed's before removing it (a sweep: the owner is dead, and a
   * namespace of that name may since be someone else's). A live bed's own teardown knows its pods.
   */
  verify: boolean;
}

/**
 * Whether the namespace called `pod.name` is this bed's pod: its eth0 carries the bed's tag. A namespace
 * without eth0 is the bed's only if the record says the pod was still being made (under the lock, so no other
 * bed can be making one of that name).
 */
export function ownsPodNetns(tools: Tools, record: BedRecord, pod: PodRecord): boolean {
  let links: { ifname: string; ifalias?: string }[];
  try {
    links = JSON.parse(runSync(tools.ip, ["-n", pod.name, "-j", "link", "show"])) as typeof links;
  } catch {
    return false;
  }
  const eth0 = links.find((l) => l.ifname === "eth0");
  if (eth0) return eth0.ifalias === ownerTag(record.id);
  return pod.status === "creating" && links.every((l) => l.ifname === "lo");
}

/** Kills a pod's processes (SIGKILL) and returns the `ip` batch lines that remove it, run by the caller. */
function podRemoval(
  tools: Tools,
  record: BedRecord,
  pod: PodRecord,
  options: TeardownOptions,
  result: TeardownResult,
): string[] {
  if (pod.resolvConf) attempt(result, `remove ${resolvConfPath(pod.name)}`, () => removeResolvConf(pod));
  if (!netnsExists(pod.name)) return [];
  if (options.verify && !ownsPodNetns(tools, record, pod)) {
    result.skipped.push(`namespace ${pod.name}: not bed ${record.id}'s (its eth0 does not carry the tag)`);
    return [];
  }
  attempt(result, `kill processes in ${pod.name}`, () => killNow(netnsPids(pod.name)));
  return [`netns del ${pod.name}`];
}

function attempt(result: TeardownResult, what: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    result.problems.push(`${what}: ${(e as Error).message}`);
  }
}

function runBatch(tools: Tools, netns: string | undefined, lines: string[], result: TeardownResult): void {
  if (lines.length === 0) return;
  const args = [...(netns ? ["-n", netns] : []), "-force", "-batch", "-"];
  attempt(result, "ip", () => runSync(tools.ip, args, { input: lines.join("\n") }));
}

/** Removes one pod of a live bed: processes (SIGKILL; callers wanting grace end them first), link, namespace. */
export function teardownPod(tools: Tools, record: BedRecord, pod: PodRecord): TeardownResult {
  const result: TeardownResult = { problems: [], skipped: [] };
  const lines = podRemoval(tools, record, pod, { verify: false }, result);
  const ns = bedNetns(record.id);
  // The bed's end of the veth explicitly, so the bridge loses the port now rather than whenever the kernel
  // frees the namespace. A half-made pod has no link yet: -force goes on, and what counts is what is left.
  if (netnsExists(ns)) runBatch(tools, ns, [`link del ${pod.link}`, ...lines], result);
  else runBatch(tools, undefined, lines, result);
  if (netnsExists(pod.name)) result.problems.push(`namespace ${pod.name} is still there`);
  else result.problems = result.problems.filter((p) => !p.startsWith("ip:"));
  return result;
}

export function removeResolvConf(pod: PodRecord): void {
  try {
    unlinkSync(resolvConfPath(pod.name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  // The directories only when empty: leave whatever someone else put there.
  for (const dir of [join(ETC_NETNS, pod.name), ...(pod.createdEtcNetns ? [ETC_NETNS] : [])]) {
    try {
      rmdirSync(dir);
    } catch (e) {
      if (!["ENOENT", "ENOTEMPTY", "EEXIST"].includes((e as NodeJS.ErrnoException).code ?? "")) throw e;
    }
  }
}

/** Removes everything the record names, then the record (unless something could not be removed). */
export function teardownBed(tools: Tools, record: BedRecord, options: TeardownOptions): TeardownResult {
  const result: TeardownResult = { problems: [], skipped: [] };
  const lines = record.pods.flatMap((pod) => podRemoval(tools, record, pod, options, result));
  const gw = gatewayLink(record.id);
  if (rootLinkExists(gw)) lines.push(`link del ${gw}`);
  const ns = bedNetns(record.id);
  if (netnsExists(ns)) {
    attempt(result, `kill processes in ${ns}`, () => killNow(netnsPids(ns)));
    lines.push(`netns del ${ns}`);
  }
  runBatch(tools, undefined, lines, result);
  // What counts is what is left, whatever the batch said.
  const left = [
    ...lines
      .filter((l) => l.startsWith("netns del "))
      .map((l) => l.slice("netns del ".length))
      .filter(netnsExists),
    ...(rootLinkExists(gw) ? [gw] : []),
  ];
  if (left.length === 0) result.problems = result.problems.filter((p) => !p.startsWith("ip:"));
  else result.problems.push(`still there: ${left.join(", ")}`);
  if (result.problems.length === 0) removeRecord(record.id);
  return result;
}

export function teardownError(id: string, problems: string[]): PodsError {
  return new PodsError("PODS_COMMAND_FAILED", `bed ${id} was not fully removed: ${problems.join("; ")}`);
}
