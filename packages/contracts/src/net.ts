// IPv4 addresses and blocks as the mesh writes them (pod addresses, service virtual IPs, capture exclusions),
// and the arithmetic on them that more than one package needs.
import { z } from "zod";

const OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = `${OCTET}(\\.${OCTET}){3}`;

/** A dotted-quad IPv4 address (`192.0.2.7`). */
export const ZIpv4 = z.string().regex(new RegExp(`^${IPV4}$`), "must be an IPv4 address, e.g. 10.0.0.1");

/** An IPv4 address or CIDR block (`10.0.0.0/8`, `192.0.2.7`). */
export const ZIpv4Cidr = z
  .string()
  .regex(
    new RegExp(`^${IPV4}(/(3[0-2]|[12]?\\d))?$`),
    "must be an IPv4 address or CIDR block, e.g. 10.0.0.0/8",
  );

/** An IPv4 address as an unsigned 32-bit number. The input must be a valid dotted quad. */
export function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** A CIDR block's first address (as a number) and size; a bare address is a /32. */
export function parseIpv4Cidr(cidr: string): { base: number; size: number; prefix: number } {
  const [ip, bits] = cidr.split("/");
  const prefix = bits === undefined ? 32 : Number(bits);
  const size = 2 ** (32 - prefix);
  const base = Math.floor(ipv4ToInt(ip!) / size) * size;
  return { base, size, prefix };
}

/** Whether `ip` lies in `cidr`. */
export function ipv4InCidr(ip: string, cidr: string): boolean {
  const { base, size } = parseIpv4Cidr(cidr);
  const n = ipv4ToInt(ip);
  return n >= base && n < base + size;
}

/**
 * Where service virtual IPs come from by default: 240.0.0.0/4, reserved and never routed on the internet, so a
 * VIP can never be someone's real address (Kuma uses the same block).
 */
export const DEFAULT_SERVICE_VIP_CIDR = "240.0.0.0/4";

/**
 * A block the control plane allocates service virtual IPs from (`trellis controlplane --service-vip-cidr`). At
 * least 4 addresses: its first and last are never handed out (to much software they are the network and the
 * broadcast address), so a smaller block would hold no VIP at all.
 */
export const ZServiceVipCidr = ZIpv4Cidr.refine(
  (cidr) => cidr.includes("/") && parseIpv4Cidr(cidr).prefix <= 30,
  "must be a CIDR block of at least 4 addresses (a /30 or larger), e.g. 240.0.0.0/4",
);
