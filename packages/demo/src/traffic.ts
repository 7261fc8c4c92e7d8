// The traffic generator: a steady rate of front-page requests through the ingress, so the console's graph and
// rollups have something to show without anyone clicking. Requests are started on a fixed schedule (not one
// after another), so a slow answer does not lower the rate; a cap on requests in flight keeps an outage from
// piling up sockets.
import { Agent, request } from "node:http";
import { REVIEWS_HEADER } from "./apps.js";

export interface TrafficStats {
  sent: number;
  /** 200 with a reviews answer. */
  ok: number;
  /** Any other outcome: a status other than 200, no answer, or a page whose reviews call failed. */
  failed: number;
  /** Front pages per reviews version that answered (`reviews-v1`), and per failure (`error 503`, `HTTP 502`). */
  byOutcome: Record<string, number>;
  /** Skipped because `maxInFlight` requests were still open. */
  skipped: number;
}

export interface TrafficGenerator {
  readonly rps: number;
  stats(): TrafficStats;
  stop(): Promise<void>;
}

export function startTraffic(opts: {
  url: string;
  rps: number;
  /**
   * Send every request to this address instead, with the URL's host as `Host`: a caller inside the mesh
   * sends `http://productpage/productpage` to its sidecar's outbound listener (`127.0.0.1:15001`).
   */
  via?: { host: string; port: number };
  maxInFlight?: number;
  timeoutMs?: number;
}): TrafficGenerator {
  const maxInFlight = opts.maxInFlight ?? 64;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const target = new URL(opts.url);
  // Resolved once: where each request connects, and the Host it names.
  const connect = opts.via
    ? { host: opts.via.host, port: opts.via.port, headers: { host: target.host } }
    : { host: target.hostname, port: target.port };
  const agent = new Agent({ keepAlive: true, maxSockets: maxInFlight });
  const stats: TrafficStats = { sent: 0, ok: 0, failed: 0, byOutcome: {}, skipped: 0 };
  const inFlight = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  const count = (outcome: string, ok: boolean) => {
    stats.byOutcome[outcome] = (stats.byOutcome[outcome] ?? 0) + 1;
    if (ok) stats.ok++;
    else stats.failed++;
  };

  const once = () =>
    new Promise<void>((resolve) => {
      stats.sent++;
      const req = request({ ...connect, path: target.pathname, agent, timeout: timeoutMs }, (res) => {
        res.resume();
        res.on("end", () => {
          const reviews = res.headers[REVIEWS_HEADER];
          const outcome =
            res.statusCode === 200 ? String(reviews ?? "no reviews header") : `HTTP ${res.statusCode}`;
          count(
            outcome,
            res.statusCode === 200 && typeof reviews === "string" && reviews.startsWith("reviews-"),
          );
          resolve();
        });
        res.on("error", () => (count("no answer", false), resolve()));
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", () => (count("no answer", false), resolve()));
      req.end();
    });

  if (opts.rps > 0) {
    const intervalMs = 1000 / opts.rps;
    const start = performance.now();
    let n = 0;
    const tick = () => {
      if (stopped) return;
      // Catch up on the schedule (timers fire late under load), but never burst more than one second's worth.
      const due = Math.floor((performance.now() - start) / intervalMs) + 1;
      if (due - n > opts.rps) n = due - Math.ceil(opts.rps);
      while (n < due) {
        n++;
        if (inFlight.size >= maxInFlight) {
          stats.skipped++;
          continue;
        }
        const p = once().finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      timer = setTimeout(tick, Math.max(1, start + n * intervalMs - performance.now()));
    };
    tick();
  }

  return {
    rps: opts.rps,
    stats: () => ({ ...stats, byOutcome: { ...stats.byOutcome } }),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await Promise.all(inFlight);
      agent.destroy();
    },
  };
}
