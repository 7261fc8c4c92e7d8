// The bed on the real kernel: namespaces, veths, a bridge, iptables inside pods, real Node servers and
// clients. Root only; in CI (root) these must run, elsewhere they skip with the reason.
import { createServer, type Server } from "node:http";
import { networkInterfaces } from "node:os";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createBed, type Bed } from "./bed.js";
import { PodsError } from "./errors.js";
import type { Pod } from "./pod.js";
import { unsupportedReason } from "./system.js";
import { bedTestsUnavailable, leftovers, probe, running, serveIn } from "./test-support/net.js";

const skip = bedTestsUnavailable(unsupportedReason());

/** A server in the root namespace on `host`, port 0. */
async function rootServer(host: string, body: string): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => res.end(body));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as { port: number };
  return { server, url: `http://${host}:${port}/` };
}

describe.skipIf(skip)(`a pod bed${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let bed: Bed;
  let servers: Server[] = [];
  /** Pod names unique on the machine, whatever else runs on it. */
  const name = (n: string) => `pods-${bed.id}-${n}`;
  const add = (n: string, host?: string) => bed.addPod({ name: name(n), host });
  const url = (pod: Pod, port = 8080) => `http://${pod.ip}:${port}/`;

  beforeEach(async () => {
    bed = await createBed({ name: "bed-test" });
  });

  afterEach(async () => {
    for (const s of servers) s.close();
    servers = [];
    if (!bed) return; // createBed itself failed
    const names = bed.pods().map((p) => p.name);
    await bed.destroy({ graceMs: 0 });
    expect(leftovers(bed.id, names)).toEqual([]);
  });

  it("gives pods their own addresses on one subnet, reachable from each other and reaching the gateway", async () => {
    const [a, b] = await Promise.all([add("a", "h1"), add("b", "h2")]);
    expect(bed.subnet).toMatch(/^10\.213\.\d+\.0\/24$/);
    expect(bed.gateway).toBe(bed.subnet.replace(/0\/24$/, "1"));
    expect(new Set([a.ip, b.ip]).size).toBe(2);
    for (const p of [a, b]) expect(p.ip.startsWith(bed.gateway.replace(/1$/, ""))).toBe(true);
    expect(bed.pods("h1")).toEqual([a]);
    expect(bed.hosts()).toEqual(["h1", "h2"]);

    await Promise.all([serveIn(a), serveIn(b)]);
    expect(await probe(b, url(a))).toEqual({ ok: true, body: a.name });
    expect(await probe(a, url(b))).toEqual({ ok: true, body: b.name });
    // The root namespace reaches pods, and pods reach a server in the root namespace on the gateway address.
    expect(await probe(undefined, url(a))).toEqual({ ok: true, body: a.name });
    const root = await rootServer(bed.gateway, "root");
    servers.push(root.server);
    expect(await probe(a, root.url)).toEqual({ ok: true, body: "root" });
    // Each pod has its own loopback: the same port twice on one machine.
    const onLoopback = await probe(a, "http://127.0.0.1:8080/");
    expect(onLoopback).toEqual({ ok: true, body: a.name });
  });

  it("offers a root-namespace loopback port to pods on the gateway address, and closes it with the bed", async () => {
    const a = await add("a");
    const local = await rootServer("127.0.0.1", "loopback only");
    servers.push(local.server);
    const localPort = Number(new URL(local.url).port);
    // Unreachable from the pod until exposed: the server listens on the root namespace's loopback only.
    expect(await probe(a, `http://${bed.gateway}:${localPort}/`, 500)).toMatchObject({ ok: false });
    const exposed = await bed.expose({ to: { port: localPort }, port: 0 });
    expect(exposed.address).toBe(bed.gateway);
    expect(await probe(a, `http://${bed.gateway}:${exposed.port}/`)).toEqual({
      ok: true,
      body: "loopback only",
    });
    // The same port twice is refused with the bed's error, in one line.
    await expect(bed.expose({ to: { port: localPort }, port: exposed.port })).rejects.toThrow(
      /^trellis pods: cannot offer 127\.0\.0\.1:\d+ on [\d.]+:\d+: EADDRINUSE$/,
    );
    await exposed.close();
    expect(await probe(a, `http://${bed.gateway}:${exposed.port}/`, 500)).toMatchObject({ ok: false });
  });

  it("refuses, inside the pod, traffic to anything but the bed (unless allowed as egress)", async () => {
    // An address of the root namespace outside the bed: refused in the pod, so nothing is sent. (Were the
    // guard broken, the packet would still only reach this machine's own address.)
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === "IPv4" && !i.internal && !i.address.startsWith("10.213."))?.address;
    if (!outside) return; // a machine with only loopback and beds: nothing outside to refuse
    const a = await add("a");
    expect(await probe(a, `http://${outside}:9/`)).toEqual({ ok: false, code: "ENETUNREACH" });

    const open = await createBed({ name: "bed-test-egress", egress: [`${outside}/32`] });
    try {
      const p = await open.addPod({ name: `pods-${open.id}-egress` });
      const root = await rootServer(outside, "allowed");
      servers.push(root.server);
      expect(await probe(p, root.url)).toEqual({ ok: true, body: "allowed" });
    } finally {
      await open.destroy({ graceMs: 0 });
    }
  });

  it("cuts two pods apart both ways and heals them, leaving everyone else connected", async () => {
    const [a, b, c] = await Promise.all([add("a"), add("b"), add("c")]);
    await Promise.all([serveIn(a), serveIn(b)]);
    await bed.cut(a, b);
    const [ab, ba, ca] = await Promise.all([probe(a, url(b), 500), probe(b, url(a), 500), probe(c, url(a))]);
    expect(ab).toEqual({ ok: false, code: "TIMEOUT" });
    expect(ba).toEqual({ ok: false, code: "TIMEOUT" });
    expect(ca).toEqual({ ok: true, body: a.name });

    await bed.heal(a, b);
    expect(await probe(b, url(a))).toEqual({ ok: true, body: a.name });
    await bed.heal(a, b); // healing what is healed changes nothing

    await bed.cut(a, b, { mode: "reject" });
    expect(await probe(b, url(a))).toEqual({ ok: false, code: "ECONNREFUSED" });
    await bed.healAll();
    expect(await probe(b, url(a))).toEqual({ ok: true, body: a.name });
  });

  it("isolates a pod from all but its exceptions, and cuts one pod from one address", async () => {
    const [a, b] = await Promise.all([add("a"), add("b")]);
    await Promise.all([serveIn(a), serveIn(b)]);
    const root = await rootServer(bed.gateway, "root");
    servers.push(root.server);

    await bed.isolate(a, { except: [bed.gateway] });
    const [ba, ab, aRoot, aSelf] = await Promise.all([
      probe(b, url(a), 500),
      probe(a, url(b), 500),
      probe(a, root.url),
      probe(a, "http://127.0.0.1:8080/"),
    ]);
    expect(ba).toEqual({ ok: false, code: "TIMEOUT" });
    expect(ab).toEqual({ ok: false, code: "TIMEOUT" });
    expect(aRoot).toEqual({ ok: true, body: "root" });
    expect(aSelf).toEqual({ ok: true, body: a.name });
    await bed.rejoin(a);
    expect(await probe(b, url(a))).toEqual({ ok: true, body: a.name });

    // The control plane's address, say: a loses it, b keeps it.
    await a.cutFrom(bed.gateway);
    const [aCut, bRoot] = await Promise.all([probe(a, root.url, 500), probe(b, root.url)]);
    expect(aCut).toEqual({ ok: false, code: "TIMEOUT" });
    expect(bRoot).toEqual({ ok: true, body: "root" });
    await a.healFrom(bed.gateway);
    expect(await probe(a, root.url)).toEqual({ ok: true, body: "root" });
  });

  it("kills a host: its pods' processes end (by PID) and their links go down; the other host runs on", async () => {
    const [a1, a2, b1] = await Promise.all([add("a1", "h1"), add("a2", "h1"), add("b1", "h2")]);
    const [s1, s2, s3] = await Promise.all([serveIn(a1), serveIn(a2), serveIn(b1)]);
    const grandchild = a1.spawn("sh", ["-c", "sleep 300 & wait"]); // a process the spawned one started
    await new Promise((r) => setTimeout(r, 200));
    const inA1 = a1.pids();
    expect(inA1).toContain(s1.pid);
    expect(inA1.length).toBeGreaterThanOrEqual(3);

    const killed = await bed.killHost("h1");
    expect(killed).toEqual(expect.arrayContaining([s1.pid, s2.pid, grandchild.pid, ...inA1]));
    for (const pid of killed) expect(running(pid), `pid ${pid}`).toBe(false);
    expect(running(s3.pid!)).toBe(true);
    expect(a1.up).toBe(false);
    expect(b1.up).toBe(true);
    expect(await probe(b1, url(a1), 500)).toMatchObject({ ok: false });
    expect(await probe(undefined, url(b1))).toEqual({ ok: true, body: b1.name });

    await bed.reviveHost("h1");
    expect(a1.up).toBe(true);
    await serveIn(a1);
    expect(await probe(b1, url(a1))).toEqual({ ok: true, body: a1.name });
    await expect(bed.killHost("nowhere")).rejects.toThrow(/no pods on host nowhere/);
  });

  it("runs processes as another user, tracks them by PID and ends them", async () => {
    const a = await add("a");
    expect((await a.exec("id", ["-u"], { uid: 1337, gid: 1337 })).stdout.trim()).toBe("1337");
    expect((await a.exec("id", ["-g"], { uid: 1337, gid: 1337 })).stdout.trim()).toBe("1337");

    const sleeper = a.spawn("sleep", ["300"]);
    await new Promise((r) => setTimeout(r, 100));
    expect(a.pids()).toEqual([sleeper.pid]); // `ip netns exec` execs: the PID is the command's
    await a.kill({ graceMs: 500 });
    expect(running(sleeper.pid!)).toBe(false);
    expect(a.pids()).toEqual([]);

    const failed = await a.exec("sh", ["-c", "echo oops >&2; exit 3"]).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(PodsError);
    expect((failed as Error).message).toMatch(/exited 3: oops/);
    expect((await a.exec("sh", ["-c", "exit 3"], { check: false })).code).toBe(3);
  });

  it("gives a pod its own resolv.conf, removed with the pod", async () => {
    const [a, b] = await Promise.all([add("a"), add("b")]);
    await a.setResolvConf(`nameserver ${a.ip}\nsearch demo.svc\n`);
    expect((await a.exec("cat", ["/etc/resolv.conf"])).stdout).toBe(`nameserver ${a.ip}\nsearch demo.svc\n`);
    expect((await b.exec("cat", ["/etc/resolv.conf"])).stdout).toBe(readFileSync("/etc/resolv.conf", "utf8"));

    await a.remove();
    expect(bed.pods()).toEqual([b]);
    expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).not.toContain(a.name);
    expect(existsSync(`/etc/netns/${a.name}`)).toBe(false);
    expect(() => a.spawn("true")).toThrow(/was removed/);
  });

  it("refuses bad names, taken names and subnets that overlap", async () => {
    await expect(bed.addPod({ name: "Bad_Name" })).rejects.toMatchObject({ code: "PODS_INVALID" });
    await expect(bed.addPod({ name: "tpbabcdef" })).rejects.toMatchObject({ code: "PODS_INVALID" });
    const a = await add("a");
    await expect(add("a")).rejects.toMatchObject({ code: "PODS_NAME_TAKEN" });
    await expect(createBed({ subnet: bed.subnet })).rejects.toThrow(
      new RegExp(`subnet ${bed.subnet.replace(/\./g, "\\.")} overlaps`),
    );
    await expect(createBed({ subnet: "8.8.8.0/24" })).rejects.toMatchObject({ code: "PODS_INVALID" });
    expect(bed.pods()).toEqual([a]);
  });

  it("destroys everything it made, once, however often it is asked", async () => {
    const [a, b] = await Promise.all([add("a", "h1"), add("b", "h2")]);
    const server = await serveIn(a);
    await b.setResolvConf("nameserver 10.213.0.1\n");
    await bed.cut(a, b);
    const names = [a.name, b.name];
    expect(leftovers(bed.id, names).length).toBeGreaterThan(0);

    await Promise.all([bed.destroy(), bed.destroy()]);
    expect(leftovers(bed.id, names)).toEqual([]);
    expect(running(server.pid!)).toBe(false);
    await bed.destroy();
    await expect(bed.addPod({ name: "late" })).rejects.toMatchObject({ code: "PODS_DESTROYED" });
  });
});
