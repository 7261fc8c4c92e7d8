// Least request with the power of two choices: pick two endpoints at random (by weight) and keep the one with
// fewer requests in flight relative to its weight. Cheap, and avoids the herd that "global least" causes.
import type { EndpointState } from "../cluster/endpoint.js";
import type { Balancer } from "./types.js";

export function leastRequest(endpoints: readonly EndpointState[]): Balancer {
  const n = endpoints.length;
  const cumulative = new Float64Array(n);
  let total = 0;
  endpoints.forEach((e, i) => {
    total += e.weight;
    cumulative[i] = total;
  });
  const uniform = endpoints.every((e) => e.weight === endpoints[0]!.weight);
  const draw = (): EndpointState => {
    if (uniform) return endpoints[(Math.random() * n) | 0]!;
    const r = Math.random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    return endpoints[lo]!;
  };
  return {
    pick(_req, now) {
      if (n === 0) return null;
      if (n === 1) return endpoints[0]!.available(now) ? endpoints[0]! : null;
      for (let tries = 0; tries < 4; tries++) {
        let a = draw();
        let b = draw();
        if (!a.available(now)) a = b;
        if (!b.available(now)) b = a;
        if (!a.available(now)) continue;
        return (a.active + 1) / a.weight <= (b.active + 1) / b.weight ? a : b;
      }
      // Most endpoints are out: scan for any that is left.
      let best: EndpointState | null = null;
      for (const e of endpoints) if (e.available(now) && (best === null || e.active < best.active)) best = e;
      return best;
    },
  };
}
