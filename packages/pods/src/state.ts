// Each bed's record of what it made, in /run/trellis-pods/<id>.json, written before each thing is made: a
// process killed mid-way leaves a record that names everything it may have created, which is what `sweep`
// removes once the owner is dead. /run is a tmpfs, like the namespaces themselves: both are gone after a
// reboot, so a record never outlives what it describes by more than one sweep.
//
// Creating a bed and making a pod's namespace take a lock (a file created with O_EXCL, naming its owner), so
// a sweep never sees a namespace another live bed is half-way through making, and two beds never pick the
// same subnet.
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { PodsError } from "./errors.js";
import { isBedId } from "./names.js";

export const STATE_DIR = "/run/trellis-pods";
const LOCK = join(STATE_DIR, "lock");
const LOCK_TIMEOUT_MS = 15_000;

/** A process, identified by its PID and its start time, so a reused PID is not mistaken for the owner. */
export interface Owner {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot. */
  start: string;
}

export interface PodRecord {
  /** The network namespace's name. */
  name: string;
  ip: string;
  host: string;
  /** The bed's end of the pod's veth, in the bed's namespace. */
  link: string;
  /** "creating" until eth0 carries the bed's tag: a sweep may then remove the namespace only if it is empty. */
  status: "creating" | "ready";
  /** Whether /etc/netns/<name>/resolv.conf was written by the bed (removed with the pod). */
  resolvConf: boolean;
  /** Whether the bed created /etc/netns itself for it (then removed with the pod, when empty). */
  createdEtcNetns?: boolean;
}

export interface BedRecord {
  version: 1;
  id: string;
  name: string;
  owner: Owner;
  createdAt: string;
  subnet: string;
  gateway: string;
  pods: PodRecord[];
}

export function processStart(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return undefined; // exited, not yet reaped
  return fields[19]; // field 22 overall; fields[0] is field 3
}

export function currentOwner(): Owner {
  return { pid: process.pid, start: processStart(process.pid) ?? "" };
}

export function ownerAlive(owner: Owner): boolean {
  return processStart(owner.pid) === owner.start;
}

export function recordPath(id: string): string {
  return join(STATE_DIR, `${id}.json`);
}

/** Atomically (write, then rename), so a reader never sees half a record. */
export function writeRecord(record: BedRecord): void {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o755 });
  const tmp = `${recordPath(record.id)}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(tmp, recordPath(record.id));
}

export function removeRecord(id: string): void {
  try {
    unlinkSync(recordPath(id));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

export interface StoredRecord {
  id: string;
  /** undefined when the file could not be read as a record (`problem` says why). */
  record?: BedRecord;
  problem?: string;
}

export function readRecords(): StoredRecord[] {
  let files: string[];
  try {
    files = readdirSync(STATE_DIR);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const out: StoredRecord[] = [];
  for (const f of files) {
    const id = f.replace(/\.json$/, "");
    if (!f.endsWith(".json") || !isBedId(id)) continue;
    try {
      const record = JSON.parse(readFileSync(join(STATE_DIR, f), "utf8")) as BedRecord;
      if (record.version !== 1 || record.id !== id) throw new Error("not a version 1 bed record");
      out.push({ id, record });
    } catch (e) {
      out.push({ id, problem: (e as Error).message });
    }
  }
  return out;
}

// In-process queue in front of the file lock: two beds of one process must not both think they hold it.
let queue: Promise<unknown> = Promise.resolve();

/** Runs `fn` holding the machine-wide bed lock. */
export function withLock<T>(fn: () => T | Promise<T>): Promise<T> {
  const next = queue.then(async () => {
    await acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  });
  queue = next.catch(() => undefined);
  return next;
}

async function acquire(): Promise<void> {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o755 });
  const me = JSON.stringify(currentOwner());
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
    try {
      const fd = openSync(LOCK, "wx");
      writeFileSync(fd, me);
      closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const lock = readLock();
    if (!lock) continue; // released meanwhile
    // A holder that died leaves the lock behind: take it over. A file without a valid owner is being written
    // (or was cut short by a crash): stale only once it is old. Two processes taking over the same stale lock
    // at once is the race left; each re-reads it first, which narrows it to microseconds.
    const stale = lock.owner ? !ownerAlive(lock.owner) : Date.now() - lock.mtimeMs > 2_000;
    if (stale) {
      if (readLock()?.text === lock.text) {
        try {
          unlinkSync(LOCK);
        } catch {
          // someone else removed it first
        }
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new PodsError(
        "PODS_LOCK_TIMEOUT",
        `process ${lock.owner?.pid ?? "?"} has held ${LOCK} for over ${LOCK_TIMEOUT_MS / 1000} s`,
      );
    }
    await sleep(wait);
  }
}

function readLock(): { text: string; mtimeMs: number; owner?: Owner } | undefined {
  try {
    const text = readFileSync(LOCK, "utf8");
    const { mtimeMs } = statSync(LOCK);
    try {
      const o = JSON.parse(text) as Owner;
      if (typeof o.pid === "number" && typeof o.start === "string") return { text, mtimeMs, owner: o };
    } catch {
      // half-written
    }
    return { text, mtimeMs };
  } catch {
    return undefined;
  }
}

function release(): void {
  try {
    unlinkSync(LOCK);
  } catch {
    // already taken over as stale: nothing to release
  }
}
