import { describe, expect, it } from "vitest";
import {
  formatCidr,
  overlaps,
  parseCidr,
  pickSubnet,
  validateBedSubnet,
  hostAddress,
  hostCount,
  type TakenNetwork,
} from "./addresses.js";

const taken = (...cidrs: string[]): TakenNetwork[] =>
  cidrs.map((c) => ({ cidr: parseCidr(c, { loose: true }), what: c }));

describe("addresses", () => {
  it("parses CIDRs and bare addresses, and refuses host bits unless loose", () => {
    expect(formatCidr(parseCidr("10.213.4.0/24"))).toBe("10.213.4.0/24");
    expect(formatCidr(parseCidr("10.213.4.7"))).toBe("10.213.4.7/32");
    expect(() => parseCidr("10.213.4.1/24")).toThrow(/host bits set; the network is 10.213.4.0\/24/);
    expect(formatCidr(parseCidr("10.213.4.1/24", { loose: true }))).toBe("10.213.4.0/24");
    for (const bad of ["10.213.4.256", "10.213.4/24", "10.213.4.0/33", "x", "10.0.0.0/8/1", ""]) {
      expect(() => parseCidr(bad), bad).toThrow(/not an IPv4 address or CIDR/);
    }
  });

  it("tells overlapping networks apart", () => {
    expect(overlaps(parseCidr("10.0.0.0/8"), parseCidr("10.213.0.0/24"))).toBe(true);
    expect(overlaps(parseCidr("10.213.0.0/24"), parseCidr("10.213.1.0/24"))).toBe(false);
    expect(overlaps(parseCidr("10.213.0.128/25"), parseCidr("10.213.0.0/24"))).toBe(true);
    expect(overlaps(parseCidr("192.168.0.0/16"), parseCidr("10.213.0.0/16"))).toBe(false);
  });

  it("takes the first /24 of the pool that nothing overlaps", () => {
    expect(formatCidr(pickSubnet([])!)).toBe("10.213.0.0/24");
    expect(formatCidr(pickSubnet(taken("10.213.0.0/24", "10.213.1.5"))!)).toBe("10.213.2.0/24");
    expect(formatCidr(pickSubnet(taken("192.0.2.0/24", "127.0.0.0/8"))!)).toBe("10.213.0.0/24");
    expect(pickSubnet(taken("10.0.0.0/8"))).toBeUndefined();
  });

  it("lets a bed use only private subnets with room for a pod", () => {
    expect(formatCidr(validateBedSubnet("172.20.0.0/16"))).toBe("172.20.0.0/16");
    expect(() => validateBedSubnet("8.8.8.0/24")).toThrow(/not private/);
    expect(() => validateBedSubnet("10.213.0.0/31")).toThrow(/between \/8 and \/30/);
    expect(() => validateBedSubnet("0.0.0.0/0")).toThrow(/between \/8 and \/30/);
  });

  it("numbers hosts from the gateway", () => {
    const c = parseCidr("10.213.7.0/24");
    expect(hostCount(c)).toBe(254);
    expect(hostAddress(c, 1)).toBe("10.213.7.1");
    expect(hostAddress(c, 254)).toBe("10.213.7.254");
  });
});
