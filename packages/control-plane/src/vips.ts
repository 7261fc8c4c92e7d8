// Service virtual IPs (docs/decisions/013-service-vips.md). Each service gets one address from the configured
// block: the one its name hashes to, or when another service holds that, the next free one after it. Hashing
// makes two replicas creating one service at once ask for the same address, and a service recreated in an
// empty database get its old one back; the unique index on Service.vip decides every race, so nothing here
// takes a lock. A service's VIP never changes once given: sidecars and apps may hold it in DNS caches and open
// connections, so a renumbering would break calls silently.
import { createHash } from "node:crypto";
import { intToIpv4, ipv4ToInt, parseIpv4Cidr, ZIpv4, ZServiceVipCidr } from "@trellis/contracts";
import type { Db } from "@trellis/db";

/** The addresses VIPs are handed out from: the block less its first and last address. */
export interface VipBlock {
  /** The block, normalized to its first address (`240.0.0.0/4`). */
  readonly cidr: string;
  /** The first address handed out, as a number. */
  readonly first: number;
  /** How many addresses can be handed out. */
  readonly size: number;
}

/** Throws when `cidr` is not a block of at least 4 addresses: the replica refuses to start. */
export function vipBlock(cidr: string): VipBlock {
  const checked = ZServiceVipCidr.safeParse(cidr);
  if (!checked.success)
    throw new Error(`the service VIP block "${cidr}" ${checked.error.issues[0]?.message ?? "is invalid"}`);
  const { base, size, prefix } = parseIpv4Cidr(cidr);
  return { cidr: `${intToIpv4(base)}/${prefix}`, first: base + 1, size: size - 2 };
}

/**
 * The index in `block` where a service's probe starts: 48 bits of a hash of its name, so the choice depends on
 * nothing but the name and the block (not on the order services arrive in), with negligible bias in any block.
 */
export function vipHome(block: VipBlock, namespace: string, name: string): number {
  const digest = createHash("sha256").update(`${namespace}/${name}`).digest();
  return digest.readUIntBE(0, 6) % block.size;
}

/** Whether `vip` is an address this block hands out. */
export function inVipBlock(block: VipBlock, vip: string): boolean {
  if (!ZIpv4.safeParse(vip).success) return false;
  const n = ipv4ToInt(vip);
  return n >= block.first && n < block.first + block.size;
}

/**
 * What trying one address came to: `claimed` (the caller's write took it), `taken` (another service holds it:
 * try the next), or `settled` (the service needs none any more, e.g. another replica gave it one meanwhile).
 */
export type VipClaim = "claimed" | "taken" | "settled";

/** The address given, or why none was: the block has no free address, or the matter was settled elsewhere. */
export type VipOutcome = { vip: string } | "full" | "settled";

export interface VipAllocatorOptions {
  db: Db;
  /** The configured block (`vipBlock(options.serviceVipCidr)`). */
  block: VipBlock;
  log: (line: string) => void;
}

export class VipAllocator {
  readonly block: VipBlock;
  private readonly db: Db;
  private readonly log: (line: string) => void;

  constructor(opts: VipAllocatorOptions) {
    this.block = opts.block;
    this.db = opts.db;
    this.log = opts.log;
  }

  /**
   * Tries the service's addresses in probe order (its home, the next, …, wrapping at the block's end) with
   * `claim`, which writes the address and reports whether that took. The home address is free almost always
   * (one of 2^28 in the default block); after a collision the addresses in use are read once and skipped, so
   * further round trips come only from races lost to other writers.
   */
  async allocate(
    namespace: string,
    name: string,
    claim: (vip: string) => Promise<VipClaim>,
  ): Promise<VipOutcome> {
    const { size } = this.block;
    const home = vipHome(this.block, namespace, name);
    let taken: Set<number> | null = null;
    for (let step = 0; step < size; step++) {
      const i = (home + step) % size;
      if (taken?.has(i)) continue;
      const vip = intToIpv4(this.block.first + i);
      const r = await claim(vip);
      if (r === "claimed") return { vip };
      if (r === "settled") return "settled";
      if (taken === null) {
        taken = await this.taken();
        // Full: nothing to walk through (a /30 or a block nearly as small as the registry).
        if (taken.size >= size) return "full";
      }
      taken.add(i);
    }
    return "full";
  }

  /**
   * Gives a VIP to every service that has none: those created before VIPs existed (or by a replica of an older
   * version during an upgrade), and those created while the block was full. Run when a replica starts; several
   * replicas starting together each give a service the same home address, and the first write wins. Returns
   * how many services got one (the caller tells the other replicas the registry changed).
   */
  async backfill(): Promise<number> {
    const missing = await this.db.service.findMany({
      where: { vip: null },
      orderBy: [{ namespace: "asc" }, { name: "asc" }],
      select: { id: true, namespace: true, name: true },
    });
    let given = 0;
    const left: string[] = [];
    for (const s of missing) {
      const r = await this.allocate(s.namespace, s.name, async (vip) => {
        try {
          const u = await this.db.service.updateMany({ where: { id: s.id, vip: null }, data: { vip } });
          return u.count === 1 ? "claimed" : "settled";
        } catch (e) {
          if (isUniqueViolation(e)) return "taken";
          throw e;
        }
      });
      if (r === "full") left.push(`${s.namespace}/${s.name}`);
      else if (r !== "settled") given++;
    }
    if (given > 0) this.log(`control plane: gave ${services(given)} a VIP from ${this.block.cidr}`);
    if (left.length > 0) this.full(left);
    return given;
  }

  /**
   * Says once (at start) which services keep a VIP outside the configured block: given from an earlier block,
   * they keep it, since callers may hold it; new services get theirs from the configured block.
   */
  async reportForeign(): Promise<void> {
    const rows = await this.db.service.findMany({
      where: { vip: { not: null } },
      orderBy: [{ namespace: "asc" }, { name: "asc" }],
      select: { namespace: true, name: true, vip: true },
    });
    const foreign = rows.filter((r) => r.vip !== null && !inVipBlock(this.block, r.vip));
    if (foreign.length === 0) return;
    const shown = foreign
      .slice(0, 5)
      .map((r) => `${r.namespace}/${r.name} ${r.vip}`)
      .join(", ");
    this.log(
      `control plane: keeping the VIPs of ${services(foreign.length)} outside the configured block ${this.block.cidr} (${shown}${foreign.length > 5 ? ", …" : ""}); new services get theirs from ${this.block.cidr} (docs/decisions/013-service-vips.md says how to renumber)`,
    );
  }

  /** Services left without a VIP because the block has no free address: said loudly, they are reached by name only. */
  full(names: readonly string[]): void {
    const shown = names.slice(0, 5).join(", ") + (names.length > 5 ? ", …" : "");
    this.log(
      `control plane: the service VIP block ${this.block.cidr} is full: no VIP for ${services(names.length)} (${shown}); callers reach them by name (HTTP Host) only, until a larger block is configured and a replica restarts`,
    );
  }

  /** Indexes in the block of the VIPs in use. */
  private async taken(): Promise<Set<number>> {
    const rows = await this.db.service.findMany({ where: { vip: { not: null } }, select: { vip: true } });
    const out = new Set<number>();
    for (const r of rows)
      if (r.vip !== null && inVipBlock(this.block, r.vip)) out.add(ipv4ToInt(r.vip) - this.block.first);
    return out;
  }
}

const services = (n: number): string => (n === 1 ? "1 service" : `${n} services`);

/** A write refused by a unique index (Prisma's P2002), whichever index it was. */
export function isUniqueViolation(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === "P2002";
}
