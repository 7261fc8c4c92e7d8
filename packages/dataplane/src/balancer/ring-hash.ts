// Consistent hashing on a header: the same value lands on the same endpoint, and adding or removing one endpoint
// moves only ~1/n of the keys. The ring is built once per config; a pick is a binary search.
import type { EndpointState } from "../cluster/endpoint.js";
import type { Balancer } from "./types.js";
import { leastRequest } from "./least-request.js";

/** FNV-1a, 32 bit: fast and spreads well enough for a ring. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // Final avalanche (murmur3 fmix32): FNV alone clusters on similar keys.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const VNODES_PER_WEIGHT = 64;

export function ringHash(endpoints: readonly EndpointState[], header: string): Balancer {
  const lower = header.toLowerCase();
  const points: { h: number; ep: EndpointState }[] = [];
  for (const ep of endpoints) {
    const v = Math.min(VNODES_PER_WEIGHT * ep.weight, 4096);
    for (let i = 0; i < v; i++) points.push({ h: fnv1a(`${ep.address}#${i}`), ep });
  }
  points.sort((a, b) => a.h - b.h);
  const hashes = Uint32Array.from(points.map((p) => p.h));
  const owners = points.map((p) => p.ep);
  const fallback = leastRequest(endpoints);
  return {
    pick(req, now) {
      const v = req.incoming.headers[lower];
      if (v === undefined || owners.length === 0) return fallback.pick(req, now);
      const h = fnv1a(Array.isArray(v) ? v.join(",") : v);
      let lo = 0;
      let hi = hashes.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (hashes[mid]! < h) lo = mid + 1;
        else hi = mid;
      }
      // Walk clockwise past endpoints that are out, so their keys move to the next one only.
      for (let i = 0; i < owners.length; i++) {
        const ep = owners[(lo + i) % owners.length]!;
        if (ep.available(now)) return ep;
      }
      return null;
    },
  };
}
