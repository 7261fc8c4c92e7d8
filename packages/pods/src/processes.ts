// Ending a pod's processes, by PID. Which PIDs: every process whose network namespace is the pod's (`ip netns
// pids`), so what a spawned command started in turn goes too. A pod's namespace only exists because a bed made
// it, so everything in it was started through the bed.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { processStart } from "./state.js";
import { NETNS_DIR } from "./system.js";

/**
 * The processes in a named namespace: those whose /proc/<pid>/ns/net is the namespace /run/netns/<name> is
 * bound to (what `ip netns pids` does, without starting a process).
 */
export function netnsPids(netns: string): number[] {
  let target: { dev: number; ino: number };
  try {
    target = statSync(join(NETNS_DIR, netns));
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ns = statSync(`/proc/${entry}/ns/net`);
      if (ns.ino === target.ino && ns.dev === target.dev) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids.filter((pid) => pid !== process.pid);
}

/** Exited, or a zombie waiting to be reaped (its parent's business, and it holds no namespace). */
export function gone(pid: number): boolean {
  return processStart(pid) === undefined;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
  }
}

/** SIGKILL now, without waiting: for exit handlers and sweeps. */
export function killNow(pids: readonly number[]): void {
  for (const pid of pids) signal(pid, "SIGKILL");
}

/**
 * SIGTERM, then SIGKILL whatever still runs after `graceMs` (0: SIGKILL at once, as a host that loses power),
 * and wait until every PID is gone, so a caller can assert on it.
 */
export async function terminate(pids: readonly number[], graceMs: number): Promise<void> {
  let alive = pids.filter((pid) => !gone(pid));
  if (alive.length === 0) return;
  if (graceMs > 0) {
    for (const pid of alive) signal(pid, "SIGTERM");
    alive = await waitGone(alive, graceMs);
  }
  killNow(alive);
  const stuck = await waitGone(alive, 5_000);
  if (stuck.length > 0) {
    // Uninterruptible sleep (D state) outlives SIGKILL for a while; nothing more a caller could do.
    process.emitWarning(`trellis pods: processes ${stuck.join(", ")} survived SIGKILL for 5 s`);
  }
}

async function waitGone(pids: readonly number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let alive = pids.filter((pid) => !gone(pid));
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(10);
    alive = alive.filter((pid) => !gone(pid));
  }
  return alive;
}
