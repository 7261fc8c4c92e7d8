// A pod: a network namespace with one address on the bed's bridge, and the processes run in it. Made by
// `bed.addPod()`; what touches the bed (faults, removal) goes through the bed, which owns the record.
import { spawn as spawnProcess, type ChildProcess, type StdioOptions } from "node:child_process";
import { PodsError } from "./errors.js";
import { netnsPids, terminate } from "./processes.js";
import type { FaultMode } from "./rules.js";
import { findExecutable, type Tools } from "./system.js";

export interface SpawnOptions {
  /** Default: this process's environment. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Default: "pipe" for all three. */
  stdio?: StdioOptions;
  /**
   * Run as this user and/or group (via util-linux `setpriv`, which execs, so the PID stays the command's;
   * supplementary groups are cleared). The capture rules tell a sidecar's own traffic apart by its uid.
   */
  uid?: number;
  gid?: number;
  /**
   * In a process group of its own: a terminal's Ctrl-C (sent to the whole foreground group) then reaches only
   * this process, which stops the child in its own order. The bed still ends it by PID.
   */
  detached?: boolean;
}

export interface ExecOptions extends Omit<SpawnOptions, "stdio"> {
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Kill the command (SIGKILL) after this long; the result says `timedOut`. */
  timeoutMs?: number;
  /** Reject when the command does not exit 0 (default true). */
  check?: boolean;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** What a pod asks of its bed. Internal: created by the bed. */
export interface PodContext {
  readonly tools: Tools;
  /** Throws PODS_DESTROYED when the pod (or its bed) is gone. */
  assertLive(pod: Pod): void;
  block(pod: Pod, address: string, reason: string, mode: FaultMode): Promise<void>;
  unblock(pod: Pod, address: string, reason: string): Promise<void>;
  setResolvConf(pod: Pod, text: string): Promise<void>;
  remove(pod: Pod, graceMs: number): Promise<void>;
  isUp(pod: Pod): boolean;
}

export class Pod {
  /** The pod's name, which is also its network namespace's name (`ip netns exec NAME ...`). */
  readonly name: string;
  /** The pod's address on the bed's subnet (its eth0). */
  readonly ip: string;
  /** The "host" label this pod is grouped under (`bed.killHost`, `bed.pods(host)`). */
  readonly host: string;
  readonly #ctx: PodContext;
  readonly #children = new Set<ChildProcess>();

  /** @internal Pods are made by `bed.addPod()`. */
  constructor(ctx: PodContext, fields: { name: string; ip: string; host: string }) {
    this.#ctx = ctx;
    this.name = fields.name;
    this.ip = fields.ip;
    this.host = fields.host;
  }

  /** False between `bed.killHost(host)` and `bed.reviveHost(host)`: the pod's link is down. */
  get up(): boolean {
    return this.#ctx.isUp(this);
  }

  /**
   * Starts `command` inside the pod (`ip netns exec`, which execs: `child.pid` is the command's PID). The
   * child is tracked: `pod.kill()`, `bed.killHost()` and `bed.destroy()` end it.
   */
  spawn(command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
    this.#ctx.assertLive(this);
    const argv = ["netns", "exec", this.name, ...userSwitch(options), command, ...args];
    const child = spawnProcess(this.#ctx.tools.ip, argv, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: options.stdio ?? "pipe",
      detached: options.detached ?? false,
    });
    this.#children.add(child);
    child.once("exit", () => this.#children.delete(child));
    // Without a listener a failed spawn would throw from the event loop; the caller sees it as 'error' too.
    child.on("error", () => this.#children.delete(child));
    return child;
  }

  /** Runs `command` inside the pod to its end and collects its output. */
  exec(command: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
    const child = this.spawn(command, args, { ...options, stdio: "pipe" });
    return new Promise((resolve, reject) => {
      let stdout = "";
      let stderr = "";
      let timedOut = false;
      child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.stdin?.on("error", () => undefined); // EPIPE: the command exited without reading its input
      child.stdin?.end(options.input);
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              child.kill("SIGKILL");
            }, options.timeoutMs);
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(
          new PodsError("PODS_COMMAND_FAILED", `${command} in pod ${this.name}: ${err.message}`, {
            cause: err,
          }),
        );
      });
      child.once("close", (code, signal) => {
        clearTimeout(timer);
        const result = { code, signal, stdout, stderr, timedOut };
        if (options.check === false || code === 0) return resolve(result);
        const why = timedOut
          ? `timed out after ${options.timeoutMs} ms`
          : signal
            ? `died of ${signal}`
            : `exited ${code}`;
        const tail = stderr.trim().split("\n").slice(-3).join(" | ");
        const err = new PodsError(
          "PODS_COMMAND_FAILED",
          `${command} in pod ${this.name} ${why}${tail ? `: ${tail}` : ""}`,
        );
        reject(Object.assign(err, { result }));
      });
    });
  }

  /** Every process in the pod's namespace: what was spawned here and whatever that started. */
  pids(): number[] {
    return netnsPids(this.name);
  }

  /**
   * Ends every process in the pod, by PID: SIGTERM, then SIGKILL after `graceMs` (default 2000; 0 kills at
   * once). Resolves when all are gone.
   */
  async kill({ graceMs = 2_000 }: { graceMs?: number } = {}): Promise<void> {
    const pids = new Set(this.pids());
    for (const child of this.#children)
      if (child.pid !== undefined && child.exitCode === null) pids.add(child.pid);
    await terminate([...pids], graceMs);
  }

  /**
   * Writes /etc/netns/<name>/resolv.conf, which `ip netns exec` (so `pod.spawn`) mounts over /etc/resolv.conf:
   * the pod's own resolver. Removed with the pod.
   */
  setResolvConf(text: string): Promise<void> {
    return this.#ctx.setResolvConf(this, text);
  }

  /**
   * Drops (or with `mode: "reject"`, refuses) all traffic between this pod and `address` (an IPv4 address or
   * CIDR, e.g. the control plane's), both ways, until `healFrom(address)`.
   */
  cutFrom(address: string, { mode = "drop" }: { mode?: FaultMode } = {}): Promise<void> {
    return this.#ctx.block(this, address, "from", mode);
  }

  healFrom(address: string): Promise<void> {
    return this.#ctx.unblock(this, address, "from");
  }

  /** Removes the pod from its bed: its processes (with `graceMs`, default 2000), namespace, link, resolv.conf. */
  remove({ graceMs = 2_000 }: { graceMs?: number } = {}): Promise<void> {
    return this.#ctx.remove(this, graceMs);
  }

  toString(): string {
    return `pod ${this.name} (${this.ip}, host ${this.host})`;
  }
}

function userSwitch(options: SpawnOptions): string[] {
  if (options.uid === undefined && options.gid === undefined) return [];
  const setpriv = findExecutable("setpriv");
  if (!setpriv) {
    throw new PodsError(
      "PODS_UNSUPPORTED",
      "running a pod's process as another user needs `setpriv` (util-linux)",
    );
  }
  return [
    setpriv,
    ...(options.uid === undefined ? [] : [`--reuid=${options.uid}`]),
    ...(options.gid === undefined ? [] : [`--regid=${options.gid}`]),
    "--clear-groups",
    "--",
  ];
}
