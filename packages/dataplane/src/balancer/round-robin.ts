// Weighted round robin. The order is precomputed once per config with nginx's "smooth" algorithm, so weights
// interleave (a:3 b:1 gives a a b a, not a a a b) and a pick is one array read.
import type { EndpointState } from "../cluster/endpoint.js";
import type { Balancer } from "./types.js";

export function roundRobin(endpoints: readonly EndpointState[]): Balancer {
  const seq = smoothSequence(endpoints);
  let next = 0;
  return {
    pick(_req, now) {
      const n = seq.length;
      for (let i = 0; i < n; i++) {
        const ep = seq[next]!;
        next = next + 1 === n ? 0 : next + 1;
        if (ep.available(now)) return ep;
      }
      return null;
    },
  };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

export function smoothSequence(endpoints: readonly EndpointState[]): EndpointState[] {
  if (endpoints.length === 0) return [];
  const g = endpoints.reduce((acc, e) => gcd(acc, e.weight), endpoints[0]!.weight);
  const weights = endpoints.map((e) => e.weight / g);
  const total = weights.reduce((a, b) => a + b, 0);
  const current = weights.map(() => 0);
  const out: EndpointState[] = [];
  for (let step = 0; step < Math.min(total, 10_000); step++) {
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    out.push(endpoints[best]!);
  }
  return out;
}
