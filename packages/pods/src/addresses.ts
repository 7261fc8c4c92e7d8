// IPv4 arithmetic for beds: subnets, overlap, the default pool. Pure functions over unsigned 32-bit numbers,
// so the rules about which ranges a bed may take are testable without a kernel.
import { PodsError } from "./errors.js";

export interface Cidr {
  /** The network address, as an unsigned 32-bit number (host bits zero). */
  readonly base: number;
  readonly prefix: number;
}

/**
 * Where beds take their subnets unless told otherwise: 10.213.0.0/16, one /24 per bed (253 pods each, up to
 * 256 beds at once). A /24 rather than the whole /16 so that test files running in parallel, the demo and a
 * chaos run can each have a bed on one machine without choosing subnets by hand.
 */
export const DEFAULT_POOL = "10.213.0.0/16";
export const DEFAULT_SLICE_PREFIX = 24;

/**
 * Service virtual IPs (issue 17, item 3): 240.0.0.0/4 is never routable on the internet, so a VIP can never
 * mean a real host. Every pod routes it through eth0, where capture redirects it.
 */
export const VIP_RANGE = "240.0.0.0/4";

/** RFC 1918: the only ranges a bed may use, so a pod's address can never be someone's public address. */
const PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map((c) => parseCidr(c));

export function parseIp(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return octets.reduce((n, o) => n * 256 + o, 0);
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** "10.213.0.0/24" (or a bare address, as a /32). Host bits must be zero unless `loose`. */
export function parseCidr(text: string, { loose = false } = {}): Cidr {
  const [ip, len, ...rest] = text.split("/");
  const base = parseIp(ip ?? "");
  const prefix = len === undefined ? 32 : /^\d{1,2}$/.test(len) ? Number(len) : NaN;
  if (base === undefined || rest.length > 0 || !(prefix >= 0 && prefix <= 32)) {
    throw new PodsError("PODS_INVALID", `"${text}" is not an IPv4 address or CIDR`);
  }
  const network = (base & mask(prefix)) >>> 0;
  if (network !== base && !loose) {
    throw new PodsError(
      "PODS_INVALID",
      `"${text}" has host bits set; the network is ${formatIp(network)}/${prefix}`,
    );
  }
  return { base: network, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const m = mask(Math.min(a.prefix, b.prefix));
  return (a.base & m) >>> 0 === (b.base & m) >>> 0;
}

export function contains(c: Cidr, ip: number): boolean {
  return (ip & mask(c.prefix)) >>> 0 === c.base;
}

/** Usable host addresses: all but the network and broadcast addresses. */
export function hostCount(c: Cidr): number {
  return Math.max(0, 2 ** (32 - c.prefix) - 2);
}

/** The n-th host address (1 = the first usable one, the bed's gateway). */
export function hostAddress(c: Cidr, n: number): string {
  return formatIp((c.base + n) >>> 0);
}

/**
 * A subnet a bed may use: private (RFC 1918), with room for the gateway and at least one pod (/8 to /30).
 */
export function validateBedSubnet(text: string): Cidr {
  const c = parseCidr(text);
  if (c.prefix < 8 || c.prefix > 30) {
    throw new PodsError("PODS_INVALID", `subnet ${text}: the prefix must be between /8 and /30`);
  }
  if (!PRIVATE.some((p) => p.prefix <= c.prefix && overlaps(p, c))) {
    throw new PodsError(
      "PODS_INVALID",
      `subnet ${text} is not private (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16); pods' addresses must never be anyone's public address`,
    );
  }
  return c;
}

/** A network something on the machine (or another bed) uses, and what, for the error message. */
export interface TakenNetwork {
  cidr: Cidr;
  what: string;
}

export function firstOverlap(c: Cidr, taken: readonly TakenNetwork[]): TakenNetwork | undefined {
  return taken.find((t) => overlaps(t.cidr, c));
}

/** The first slice of the pool that overlaps nothing taken. */
export function pickSubnet(
  taken: readonly TakenNetwork[],
  pool: Cidr = parseCidr(DEFAULT_POOL),
  slicePrefix = DEFAULT_SLICE_PREFIX,
): Cidr | undefined {
  const step = 2 ** (32 - slicePrefix);
  const slices = 2 ** (slicePrefix - pool.prefix);
  for (let i = 0; i < slices; i++) {
    const slice = { base: (pool.base + i * step) >>> 0, prefix: slicePrefix };
    if (!firstOverlap(slice, taken)) return slice;
  }
  return undefined;
}
