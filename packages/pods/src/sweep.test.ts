// Cleanup when the owner does not: sweep after SIGKILL, the exit hooks, and the CLI. The owner is a real
// child process running the built package (test-support/owner.mjs).
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createBed, type Bed } from "./bed.js";
import { newBedId } from "./names.js";
import { recordPath, writeRecord } from "./state.js";
import { sweep } from "./sweep.js";
import { unsupportedReason } from "./system.js";
import { bedTestsUnavailable, leftovers, running } from "./test-support/net.js";

const skip = bedTestsUnavailable(unsupportedReason());
const PKG = fileURLToPath(new URL("..", import.meta.url));
const OWNER = fileURLToPath(new URL("test-support/owner.mjs", import.meta.url));
const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

interface Made {
  id: string;
  pods: string[];
  sleeper: number;
}

describe.skipIf(skip)(`leftovers${skip ? ` (skipped: ${skip})` : ""}`, () => {
  const owners: ChildProcess[] = [];
  const namespaces: string[] = [];
  let bed: Bed | undefined;

  beforeAll(() => {
    // The owner and the CLI run dist/: build it from this source (well under a second).
    execFileSync(process.execPath, ["../../scripts/build-package.mjs"], { cwd: PKG, stdio: "ignore" });
  });

  afterEach(async () => {
    for (const o of owners.splice(0)) if (o.exitCode === null && o.signalCode === null) o.kill("SIGKILL");
    for (const ns of namespaces.splice(0)) spawnSync("ip", ["netns", "del", ns]);
    await bed?.destroy({ graceMs: 0 });
    bed = undefined;
    await sweep();
  });

  /** Starts an owner and waits for what it made. */
  async function owner(mode: "hang" | "exit" | "signal"): Promise<{ child: ChildProcess; made: Made }> {
    const child = spawn(process.execPath, [OWNER, mode], { stdio: ["ignore", "pipe", "pipe"] });
    owners.push(child);
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const made = await new Promise<Made>((resolve, reject) => {
      child.stdout?.once("data", (d: Buffer) => resolve(JSON.parse(d.toString()) as Made));
      child.once("exit", (code) => reject(new Error(`owner exited ${code}: ${stderr}`)));
    });
    return { child, made };
  }

  const exited = (child: ChildProcess) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null)
        resolve({ code: child.exitCode, signal: child.signalCode });
      else child.once("exit", (code, signal) => resolve({ code, signal }));
    });

  it("sweeps what a SIGKILLed owner left: processes, namespaces, links, resolv.conf, state", async () => {
    const { child, made } = await owner("hang");
    expect(leftovers(made.id, made.pods)).toHaveLength(6); // 2 pods, the bed's namespace, gateway link, state, /etc/netns/a
    expect(existsSync(`/etc/netns/${made.pods[0]}/resolv.conf`)).toBe(true);

    const before = await sweep(); // the owner lives: its bed is not a leftover
    expect(before.removed.map((b) => b.id)).not.toContain(made.id);
    expect(existsSync(recordPath(made.id))).toBe(true);

    child.kill("SIGKILL");
    await exited(child);
    expect(running(made.sleeper)).toBe(true); // orphaned, still in the pod

    const report = await sweep();
    expect(report.removed).toContainEqual(
      expect.objectContaining({ id: made.id, ownerPid: child.pid, pods: made.pods, skipped: [] }),
    );
    expect(leftovers(made.id, made.pods)).toEqual([]);
    for (let i = 0; i < 100 && running(made.sleeper); i++) await new Promise((r) => setTimeout(r, 20));
    expect(running(made.sleeper)).toBe(false);
  });

  it("removes the bed when its owner exits without destroying it", async () => {
    const { child, made } = await owner("exit");
    expect(await exited(child)).toEqual({ code: 0, signal: null });
    expect(leftovers(made.id, made.pods)).toEqual([]);
    expect(running(made.sleeper)).toBe(false);
  });

  it("removes the bed on SIGTERM, and the owner still dies of the signal", async () => {
    const { child, made } = await owner("signal");
    child.kill("SIGTERM");
    expect(await exited(child)).toEqual({ code: null, signal: "SIGTERM" });
    expect(leftovers(made.id, made.pods)).toEqual([]);
  });

  it("never removes a namespace a dead bed's record names but that is not the bed's", async () => {
    const id = newBedId();
    const notOurs = `pods-${id}-not-ours`;
    const halfMade = `pods-${id}-half-made`;
    for (const ns of [notOurs, halfMade]) {
      execFileSync("ip", ["netns", "add", ns]);
      namespaces.push(ns);
    }
    const dead = spawnSync("true").pid; // a process that has exited
    const pod = { ip: "10.213.255.2", host: "h", link: `tpb${id}p1`, resolvConf: false };
    writeRecord({
      version: 1,
      id,
      name: "dead",
      owner: { pid: dead, start: "0" },
      createdAt: new Date().toISOString(),
      subnet: "10.213.255.0/24",
      gateway: "10.213.255.1",
      pods: [
        { ...pod, name: notOurs, status: "ready" }, // ready, but its eth0 is not tagged: someone else's
        { ...pod, name: halfMade, status: "creating" }, // the owner died right after `ip netns add`
      ],
    });

    const report = await sweep();
    const swept = report.removed.find((b) => b.id === id);
    expect(swept?.skipped).toEqual([
      `namespace ${notOurs}: not bed ${id}'s (its eth0 does not carry the tag)`,
    ]);
    const left = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
    expect(left).toContain(notOurs);
    expect(left).not.toContain(halfMade);
    expect(existsSync(recordPath(id))).toBe(false);
  });

  it("lists and sweeps from the command line, with one-line errors", async () => {
    bed = await createBed({ name: "cli-test" });
    await bed.addPod({ name: `pods-${bed.id}-listed`, host: "h1" });
    const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });

    const list = cli("list");
    expect(list.status).toBe(0);
    expect(list.stdout).toContain(
      `bed ${bed.id} cli-test  ${bed.subnet} gateway ${bed.gateway}  process ${process.pid}`,
    );
    expect(list.stdout).toMatch(new RegExp(`pods-${bed.id}-listed  10\\.213\\.\\d+\\.2  host h1`));

    const swept = cli("sweep");
    expect(swept.status).toBe(0);
    expect(existsSync(recordPath(bed.id))).toBe(true); // alive: not swept

    const wrong = cli("frobnicate");
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toBe('trellis pods: unknown command "frobnicate"; try list or sweep\n');

    const asNobody = spawnSync(
      "setpriv",
      ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, CLI, "list"],
      {
        encoding: "utf8",
      },
    );
    expect(asNobody.status).toBe(1);
    expect(asNobody.stderr).toBe(
      "trellis pods: pods need root (network namespaces, veths, iptables); running as uid 65534\n",
    );
  });
});
