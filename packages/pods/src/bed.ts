// A bed: pods (network namespaces) on one bridge, a gateway address in the root namespace, and the faults
// between them. Layout (docs/decisions/012-pod-bed.md):
//
//   root namespace                 bed namespace tpb<id>                 pod namespaces
//   tpb<id>gw 10.213.N.1/24 ──veth── tpb<id>gb ┐
//                                   tpb<id>br (bridge) ├ tpb<id>p1 ──veth── eth0 10.213.N.2 (trellis-demo-...)
//                                                      └ tpb<id>p2 ──veth── eth0 10.213.N.3
//
// The bridge lives in a namespace of its own rather than in the root namespace: bridged pod-to-pod frames
// then never meet the root namespace's iptables, which a Docker host makes matter (br_netfilter passes bridged
// frames to iptables' FORWARD chain, whose policy Docker sets to DROP). The root namespace sees a pod only as
// a neighbour on tpb<id>gw, so pods reach whatever listens on the gateway address or 0.0.0.0, and the root
// namespace reaches every pod, without one rule or sysctl changed outside the bed's own namespaces.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  firstOverlap,
  formatCidr,
  hostAddress,
  hostCount,
  parseCidr,
  pickSubnet,
  VIP_RANGE,
  validateBedSubnet,
  type Cidr,
  type TakenNetwork,
} from "./addresses.js";
import { PodsError } from "./errors.js";
import { expose, type Exposed, type ExposeOptions } from "./expose.js";
import { register, unregister, type ExitHookTarget } from "./exit-hooks.js";
import {
  bedNetns,
  bridgeName,
  gatewayLink,
  gatewayPeer,
  newBedId,
  ownerTag,
  podLink,
  validateHostLabel,
  validatePodName,
} from "./names.js";
import { Pod, type PodContext } from "./pod.js";
import { netnsPids, terminate } from "./processes.js";
import { renderRules, type FaultMode, type PodFaults } from "./rules.js";
import {
  currentOwner,
  readRecords,
  recordPath,
  withLock,
  writeRecord,
  type BedRecord,
  type PodRecord,
} from "./state.js";
import { sweepLocked } from "./sweep.js";
import {
  findExecutable,
  netnsExists,
  requireSupport,
  rootLinkExists,
  run,
  runSync,
  type Tools,
} from "./system.js";
import { ETC_NETNS, resolvConfPath, teardownBed, teardownError, teardownPod } from "./teardown.js";

export interface BedOptions {
  /** A label for humans (`list`, the state file). Default "bed". */
  name?: string;
  /**
   * The bed's IPv4 subnet (private, /8 to /30); the gateway takes its first address, pods the next ones.
   * Default: the first /24 of 10.213.0.0/16 that nothing on the machine (address, route, other bed) overlaps.
   * A subnet given here that overlaps anything fails with PODS_SUBNET_OVERLAP.
   */
  subnet?: string;
  /**
   * CIDRs pods may send to besides the bed's subnet, their loopback and the VIP range 240.0.0.0/4. Default
   * none: everything else is refused inside each pod (ENETUNREACH), so nothing a pod sends leaves the machine.
   */
  egress?: readonly string[];
}

export interface AddPodOptions {
  /** The pod's network namespace name, e.g. `trellis-demo-reviews-v2`. */
  name: string;
  /** The "host" this pod runs on, for `killHost` and `pods(host)`. Default: the pod's own name. */
  host?: string;
}

interface PodState {
  record: PodRecord;
  /** address → reason (`cut:<peer>`, `from`) → mode: the rule stays while any reason holds. */
  blocks: Map<string, Map<string, FaultMode>>;
  isolatedExcept: string[] | undefined;
  up: boolean;
  /** Rule changes to one pod run one after the other, each rendering the state as it is when it runs. */
  applying: Promise<void>;
}

/** Creates a bed, after sweeping the leftovers of beds whose process died. */
export async function createBed(options: BedOptions = {}): Promise<Bed> {
  const tools = requireSupport();
  const name = options.name ?? "bed";
  validateHostLabel(name);
  const egress = [...(options.egress ?? [])].map((c) => formatCidr(parseCidr(c)));
  const requested = options.subnet === undefined ? undefined : validateBedSubnet(options.subnet);

  const record = await withLock(() => {
    const swept = sweepLocked(tools);
    for (const f of swept.failed) {
      process.emitWarning(`trellis pods: could not sweep bed ${f.id}: ${f.problems.join("; ")}`);
    }
    const taken = [...machineNetworks(tools), ...bedNetworks()];
    let cidr: Cidr;
    if (requested) {
      const hit = firstOverlap(requested, taken);
      if (hit)
        throw new PodsError("PODS_SUBNET_OVERLAP", `subnet ${formatCidr(requested)} overlaps ${hit.what}`);
      cidr = requested;
    } else {
      const free = pickSubnet(taken);
      if (!free) {
        throw new PodsError(
          "PODS_EXHAUSTED",
          "no /24 of 10.213.0.0/16 is free on this machine; pass { subnet }",
        );
      }
      cidr = free;
    }
    let id = newBedId();
    const idInUse = (i: string) =>
      existsSync(recordPath(i)) || netnsExists(bedNetns(i)) || rootLinkExists(gatewayLink(i));
    while (idInUse(id)) id = newBedId();
    const rec: BedRecord = {
      version: 1,
      id,
      name,
      owner: currentOwner(),
      createdAt: new Date().toISOString(),
      subnet: formatCidr(cidr),
      gateway: hostAddress(cidr, 1),
      pods: [],
    };
    writeRecord(rec);
    return rec;
  });

  const bed = new Bed(tools, record, egress);
  register(bed);
  try {
    await bed.build();
  } catch (e) {
    bed.destroyOnExit();
    unregister(bed);
    throw e;
  }
  return bed;
}

export class Bed implements ExitHookTarget {
  /** Six hex digits; every name the bed gives starts with `tpb<id>`. */
  readonly id: string;
  readonly name: string;
  /** The bed's subnet, e.g. "10.213.0.0/24". */
  readonly subnet: string;
  /**
   * The gateway address, held by the root namespace (link tpb<id>gw): a server in the root namespace
   * listening on it (or on 0.0.0.0) is reachable from every pod. Pods' default route points here.
   */
  readonly gateway: string;
  readonly #tools: Tools;
  readonly #record: BedRecord;
  readonly #cidr: Cidr;
  readonly #egress: string[];
  readonly #pods = new Map<string, Pod>();
  readonly #state = new Map<Pod, PodState>();
  readonly #pending = new Set<string>();
  /** Every pod this bed made, removed or not: to tell "removed" from "another bed's". */
  readonly #made = new WeakSet<Pod>();
  readonly #ctx: PodContext;
  readonly #exposed = new Set<Exposed>();
  #seq = 0;
  #nextHost = 2;
  #destroying: Promise<void> | undefined;

  /** @internal Beds are made by `createBed()`. */
  constructor(tools: Tools, record: BedRecord, egress: string[]) {
    this.#tools = tools;
    this.#record = record;
    this.id = record.id;
    this.name = record.name;
    this.subnet = record.subnet;
    this.gateway = record.gateway;
    this.#cidr = parseCidr(record.subnet);
    this.#egress = [record.subnet, VIP_RANGE, ...egress];
    this.#ctx = {
      tools,
      assertLive: (pod) => this.#own(pod),
      block: (pod, address, reason, mode) => this.#block(pod, address, reason, mode),
      unblock: (pod, address, reason) => this.#unblock(pod, address, reason),
      setResolvConf: (pod, text) => this.#setResolvConf(pod, text),
      remove: (pod, graceMs) => this.#removePod(pod, graceMs),
      isUp: (pod) => this.#stateOf(pod).up,
    };
  }

  /** @internal The bridge, its namespace and the gateway link. */
  async build(): Promise<void> {
    const { ip } = this.#tools;
    const ns = bedNetns(this.id);
    const [br, gw, gb, tag] = [
      bridgeName(this.id),
      gatewayLink(this.id),
      gatewayPeer(this.id),
      ownerTag(this.id),
    ];
    const prefix = this.#cidr.prefix;
    await run(ip, ["netns", "add", ns]);
    // forward_delay 0: a port forwards as soon as it is up (no STP here), so a new pod talks at once.
    await run(ip, ["-n", ns, "-batch", "-"], {
      input: [
        `link add ${br} type bridge forward_delay 0`,
        `link set ${br} alias ${tag}`,
        `link set ${br} up`,
      ].join("\n"),
    });
    await run(ip, ["-batch", "-"], {
      input: [
        `link add ${gw} type veth peer name ${gb} netns ${ns}`,
        `link set ${gw} alias ${tag}`,
        `addr add ${this.gateway}/${prefix} dev ${gw}`,
        `link set ${gw} up`,
      ].join("\n"),
    });
    await run(ip, ["-n", ns, "-batch", "-"], {
      input: [`link set ${gb} alias ${tag}`, `link set ${gb} master ${br}`, `link set ${gb} up`].join("\n"),
    });
    // With br_netfilter loaded, a namespace passes bridged frames through its own iptables by default. The
    // bed's namespace has no rules, so this only costs time per packet; switch it off there (the sysctl is
    // per namespace: the host's own setting is untouched).
    if (existsSync("/proc/sys/net/bridge/bridge-nf-call-iptables")) {
      const keys = ["iptables", "ip6tables", "arptables"].map((t) => `net.bridge.bridge-nf-call-${t}`);
      const sysctl = findExecutable("sysctl");
      // procps' sysctl starts in a few ms; Node (always there) in a few hundred under load.
      const command = sysctl
        ? [sysctl, "-q", "-w", ...keys.map((k) => `${k}=0`)]
        : [
            process.execPath,
            "-e",
            `for (const k of ${JSON.stringify(keys)}) require("fs").writeFileSync("/proc/sys/" + k.replaceAll(".", "/"), "0")`,
          ];
      await run(ip, ["netns", "exec", ns, ...command]);
    }
  }

  /**
   * Creates a pod: its namespace, a veth (the bed's end on the bridge, `eth0` inside), the next free address,
   * loopback up, a default route via the gateway, a route for the VIP range 240.0.0.0/4 via eth0, and its
   * filter chains (the egress guard; faults come later). Takes well under 100 ms.
   */
  async addPod(options: AddPodOptions): Promise<Pod> {
    this.#assertLive();
    const { name } = options;
    validatePodName(name);
    const host = options.host ?? name;
    validateHostLabel(host);
    if (this.#pods.has(name) || this.#pending.has(name)) {
      throw new PodsError("PODS_NAME_TAKEN", `bed ${this.id} has a pod named ${name} already`);
    }
    const { ip: ipTool } = this.#tools;
    const ns = bedNetns(this.id);
    const tag = ownerTag(this.id);
    const record: PodRecord = {
      name,
      ip: this.#allocateAddress(),
      host,
      link: podLink(this.id, ++this.#seq),
      status: "creating",
      resolvConf: false,
    };
    this.#pending.add(name);
    let created = false;
    let pod: Pod | undefined;
    try {
      await withLock(async () => {
        if (netnsExists(name)) {
          throw new PodsError(
            "PODS_NAME_TAKEN",
            `a network namespace named ${name} exists already (ip netns list)`,
          );
        }
        this.#record.pods.push(record);
        writeRecord(this.#record);
        await run(ipTool, ["netns", "add", name]);
        created = true;
        await run(ipTool, ["-n", ns, "-batch", "-"], {
          input: [
            `link add ${record.link} type veth peer name eth0 netns ${name}`,
            `link set ${record.link} alias ${tag}`,
            `link set ${record.link} master ${bridgeName(this.id)}`,
            `link set ${record.link} up`,
          ].join("\n"),
        });
        await run(ipTool, ["-n", name, "-batch", "-"], {
          input: [
            `link set eth0 alias ${tag}`,
            "link set lo up",
            `addr add ${record.ip}/${this.#cidr.prefix} dev eth0`,
            "link set eth0 up",
            `route add default via ${this.gateway} dev eth0`,
            // A VIP stays routable (to the gateway, which drops it) even in a pod without a default route;
            // the capture rules redirect it before it gets that far.
            `route add ${VIP_RANGE} via ${this.gateway} dev eth0`,
          ].join("\n"),
        });
        record.status = "ready";
        writeRecord(this.#record);
      });
      pod = new Pod(this.#ctx, record);
      this.#made.add(pod);
      const state: PodState = {
        record,
        blocks: new Map(),
        isolatedExcept: undefined,
        up: true,
        applying: Promise.resolve(),
      };
      this.#state.set(pod, state);
      await this.#applyRules(pod, { install: true });
      this.#pods.set(name, pod);
      return pod;
    } catch (e) {
      if (pod) this.#state.delete(pod);
      if (created) teardownPod(this.#tools, this.#record, record);
      this.#record.pods = this.#record.pods.filter((p) => p !== record);
      if (!this.#destroying) writeRecord(this.#record);
      throw e;
    } finally {
      this.#pending.delete(name);
    }
  }

  /** The pod called `name`, if this bed has one. */
  pod(name: string): Pod | undefined {
    return this.#pods.get(name);
  }

  /** The bed's pods in the order they were made; only those on `host` when given. */
  pods(host?: string): Pod[] {
    const all = [...this.#pods.values()];
    return host === undefined ? all : all.filter((p) => p.host === host);
  }

  /** The host labels of the bed's pods. */
  hosts(): string[] {
    return [...new Set(this.pods().map((p) => p.host))];
  }

  /**
   * Partitions two pods: all traffic between them is dropped (or with `mode: "reject"`, refused), both ways,
   * until `heal(a, b)`. Rules go into both pods' namespaces.
   */
  async cut(a: Pod, b: Pod, { mode = "drop" }: { mode?: FaultMode } = {}): Promise<void> {
    this.#own(a);
    this.#own(b);
    await Promise.all([
      this.#block(a, b.ip, `cut:${b.name}`, mode),
      this.#block(b, a.ip, `cut:${a.name}`, mode),
    ]);
  }

  async heal(a: Pod, b: Pod): Promise<void> {
    this.#own(a);
    this.#own(b);
    await Promise.all([this.#unblock(a, b.ip, `cut:${b.name}`), this.#unblock(b, a.ip, `cut:${a.name}`)]);
  }

  /**
   * Cuts a pod off from everything but its own loopback and `except` (pods, addresses or CIDRs; the gateway
   * is not implied), both ways, until `rejoin(pod)`. Calling it again replaces the exceptions.
   */
  async isolate(pod: Pod, { except = [] }: { except?: readonly (Pod | string)[] } = {}): Promise<void> {
    this.#own(pod);
    const addresses = except.map((e) =>
      typeof e === "string" ? formatCidr(parseCidr(e, { loose: true })) : e.ip,
    );
    this.#stateOf(pod).isolatedExcept = addresses;
    await this.#applyRules(pod);
  }

  async rejoin(pod: Pod): Promise<void> {
    this.#own(pod);
    this.#stateOf(pod).isolatedExcept = undefined;
    await this.#applyRules(pod);
  }

  /** Removes every cut, `cutFrom` and isolation in the bed (hosts killed stay down: see `reviveHost`). */
  async healAll(): Promise<void> {
    await Promise.all(
      this.pods().map((pod) => {
        const s = this.#stateOf(pod);
        if (s.blocks.size === 0 && !s.isolatedExcept) return undefined;
        s.blocks.clear();
        s.isolatedExcept = undefined;
        return this.#applyRules(pod);
      }),
    );
  }

  /**
   * A host dies: the links of its pods go down (as if unplugged: the rest of the bed sees them vanish, and
   * they send nothing), then every process in them is killed by PID, at once (or SIGTERM first with
   * `graceMs`). Resolves with the PIDs killed, once they are gone. The pods stay; `reviveHost` brings their
   * links back, and the caller starts their processes again.
   */
  async killHost(host: string, { graceMs = 0 }: { graceMs?: number } = {}): Promise<number[]> {
    this.#assertLive();
    const pods = this.#podsOnHost(host);
    await this.#setLinks(pods, "down");
    const pids = pods.flatMap((p) => p.pids());
    await terminate(pids, graceMs);
    return pids;
  }

  /** Brings a killed host's links back up. Its processes are not restarted. */
  async reviveHost(host: string): Promise<void> {
    this.#assertLive();
    await this.#setLinks(this.#podsOnHost(host), "up");
  }

  /**
   * Removes everything the bed made: its pods' processes (SIGTERM, then SIGKILL after `graceMs`, default 2000),
   * their namespaces (their iptables rules go with them), veths, /etc/netns directories, the bridge, its
   * namespace, the gateway link and the state file. Idempotent; also runs on process exit and on SIGINT,
   * SIGTERM and SIGHUP (when nothing else handles them).
   */
  destroy({ graceMs = 2_000 }: { graceMs?: number } = {}): Promise<void> {
    this.#destroying ??= (async () => {
      await Promise.all([...this.#exposed].map((e) => e.close()));
      const pids = this.pods().flatMap((p) => p.pids());
      await terminate(pids, graceMs);
      const { problems } = teardownBed(this.#tools, this.#record, { verify: false });
      unregister(this);
      if (problems.length > 0) throw teardownError(this.id, problems);
    })();
    return this.#destroying;
  }

  /**
   * Offers a port of the root namespace (default its loopback) to every pod at `<gateway>:<port>`: a TCP relay
   * in this process, closed with the bed. For what listens only on 127.0.0.1 (a database, a control plane).
   */
  async expose(options: ExposeOptions): Promise<Exposed> {
    this.#assertLive();
    const exposed = await expose(this.gateway, options);
    this.#exposed.add(exposed);
    return {
      ...exposed,
      close: () => {
        this.#exposed.delete(exposed);
        return exposed.close();
      },
    };
  }

  /** @internal The exit hook: synchronous, SIGKILL at once, reports rather than throws. */
  destroyOnExit(): void {
    this.#destroying ??= Promise.resolve();
    try {
      const { problems } = teardownBed(this.#tools, this.#record, { verify: false });
      if (problems.length > 0) process.stderr.write(`${teardownError(this.id, problems).message}\n`);
    } catch (e) {
      process.stderr.write(`trellis pods: bed ${this.id}: ${(e as Error).message}\n`);
    }
  }

  toString(): string {
    return `bed ${this.id} (${this.name}, ${this.subnet})`;
  }

  #assertLive(): void {
    if (this.#destroying) throw new PodsError("PODS_DESTROYED", `bed ${this.id} was destroyed`);
  }

  #own(pod: Pod): void {
    this.#assertLive();
    if (this.#pods.get(pod.name) !== pod) {
      throw this.#made.has(pod)
        ? new PodsError("PODS_DESTROYED", `${pod.toString()} was removed from bed ${this.id}`)
        : new PodsError("PODS_INVALID", `${pod.toString()} is not a pod of bed ${this.id}`);
    }
  }

  #stateOf(pod: Pod): PodState {
    const s = this.#state.get(pod);
    if (!s) throw new PodsError("PODS_DESTROYED", `${pod.toString()} was removed`);
    return s;
  }

  #podsOnHost(host: string): Pod[] {
    const pods = this.pods(host);
    if (pods.length === 0) {
      throw new PodsError(
        "PODS_INVALID",
        `bed ${this.id} has no pods on host ${host} (hosts: ${this.hosts().join(", ") || "none"})`,
      );
    }
    return pods;
  }

  async #setLinks(pods: Pod[], state: "up" | "down"): Promise<void> {
    await run(this.#tools.ip, ["-n", bedNetns(this.id), "-batch", "-"], {
      input: pods.map((p) => `link set ${this.#stateOf(p).record.link} ${state}`).join("\n"),
    });
    for (const p of pods) this.#stateOf(p).up = state === "up";
  }

  /** The next free host address after the last one given: freed addresses are reused last (stale ARP). */
  #allocateAddress(): string {
    const used = new Set(this.#record.pods.map((p) => p.ip));
    const count = hostCount(this.#cidr);
    for (let i = 0; i < count - 1; i++) {
      const n = ((this.#nextHost - 2 + i) % (count - 1)) + 2;
      const ip = hostAddress(this.#cidr, n);
      if (!used.has(ip)) {
        this.#nextHost = n + 1;
        return ip;
      }
    }
    throw new PodsError("PODS_EXHAUSTED", `bed ${this.id}: no free address left in ${this.subnet}`);
  }

  async #block(pod: Pod, address: string, reason: string, mode: FaultMode): Promise<void> {
    this.#own(pod);
    const key = formatCidr(parseCidr(address, { loose: true }));
    const s = this.#stateOf(pod);
    const reasons = s.blocks.get(key) ?? new Map<string, FaultMode>();
    reasons.set(reason, mode);
    s.blocks.set(key, reasons);
    await this.#applyRules(pod);
  }

  async #unblock(pod: Pod, address: string, reason: string): Promise<void> {
    this.#own(pod);
    const key = formatCidr(parseCidr(address, { loose: true }));
    const s = this.#stateOf(pod);
    const reasons = s.blocks.get(key);
    if (!reasons?.delete(reason)) return;
    if (reasons.size === 0) s.blocks.delete(key);
    await this.#applyRules(pod);
  }

  #faults(pod: Pod): PodFaults {
    const s = this.#stateOf(pod);
    const blocked = new Map<string, FaultMode>();
    for (const [address, reasons] of s.blocks) blocked.set(address, [...reasons.values()].pop() ?? "drop");
    return { blocked, isolatedExcept: s.isolatedExcept };
  }

  #applyRules(pod: Pod, { install = false } = {}): Promise<void> {
    const s = this.#stateOf(pod);
    const next = s.applying.then(() =>
      run(this.#tools.ip, ["netns", "exec", pod.name, this.#tools.iptablesRestore, "-w", "--noflush"], {
        input: renderRules(this.#faults(pod), this.#egress, { install }),
      }).then(() => undefined),
    );
    s.applying = next.catch(() => undefined);
    return next;
  }

  async #setResolvConf(pod: Pod, text: string): Promise<void> {
    this.#own(pod);
    const { record } = this.#stateOf(pod);
    const content = text.endsWith("\n") ? text : `${text}\n`;
    // Recorded before it exists, so a crash right after still removes it; /etc/netns too if the bed makes it.
    const makesEtcNetns = !existsSync(ETC_NETNS);
    if (!record.resolvConf || (makesEtcNetns && !record.createdEtcNetns)) {
      record.resolvConf = true;
      if (makesEtcNetns) record.createdEtcNetns = true;
      writeRecord(this.#record);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        mkdirSync(join(ETC_NETNS, pod.name), { recursive: true });
        writeFileSync(resolvConfPath(pod.name), content);
        return;
      } catch (e) {
        // Another bed removed the empty /etc/netns between our mkdir and write: once more.
        if ((e as NodeJS.ErrnoException).code !== "ENOENT" || attempt === 3) throw e;
      }
    }
  }

  async #removePod(pod: Pod, graceMs: number): Promise<void> {
    this.#own(pod);
    const s = this.#stateOf(pod);
    await s.applying;
    await terminate(netnsPids(pod.name), graceMs);
    const { problems } = teardownPod(this.#tools, this.#record, s.record);
    if (problems.length > 0) throw teardownError(this.id, problems);
    this.#pods.delete(pod.name);
    this.#state.delete(pod);
    this.#record.pods = this.#record.pods.filter((p) => p !== s.record);
    writeRecord(this.#record);
  }
}

/** Every IPv4 network the root namespace uses (routes in all tables, addresses), for the overlap check. */
function machineNetworks(tools: Tools): TakenNetwork[] {
  const out: TakenNetwork[] = [];
  const routes = JSON.parse(runSync(tools.ip, ["-j", "-4", "route", "show", "table", "all"])) as {
    dst: string;
    dev?: string;
    table?: string;
  }[];
  for (const r of routes) {
    if (r.dst === "default") continue; // overlaps everything; a more specific route for the bed wins
    try {
      const what = `the route ${r.dst}${r.dev ? ` dev ${r.dev}` : ""}${r.table ? ` table ${r.table}` : ""}`;
      out.push({ cidr: parseCidr(r.dst, { loose: true }), what });
    } catch {
      // not an IPv4 prefix (e.g. a multicast or unusual route type): cannot overlap a private subnet
    }
  }
  const links = JSON.parse(runSync(tools.ip, ["-j", "-4", "addr", "show"])) as {
    ifname: string;
    addr_info?: { local: string; prefixlen: number }[];
  }[];
  for (const l of links) {
    for (const a of l.addr_info ?? []) {
      out.push({
        cidr: parseCidr(`${a.local}/${a.prefixlen}`, { loose: true }),
        what: `the address ${a.local}/${a.prefixlen} on ${l.ifname}`,
      });
    }
  }
  return out;
}

/** Subnets of beds still alive (the sweep has just removed the dead ones' records). */
function bedNetworks(): TakenNetwork[] {
  return readRecords().flatMap(({ record }) =>
    record
      ? [
          {
            cidr: parseCidr(record.subnet),
            what: `bed ${record.id} (${record.name}) of process ${record.owner.pid}`,
          },
        ]
      : [],
  );
}
