// The traffic generator: a steady rate of front-page requests through the ingress, so the console's graph and
// rollups have something to show without anyone clicking. Requests are started on a fixed schedule (not one
// after another), so a slow answer does not lower the rate; a cap on requests in flight keeps an outage from
// piling up sockets. At the same rate it sends messages on a WebSocket to the live feed (each answered after
// a gRPC call to ratings), and opens a new session every `messagesPerSession` messages: a session is one
// request in telemetry, so short sessions keep the WebSocket edge in the graph's window.
import { Agent, request } from "node:http";
import { WebSocket } from "ws";
import { REVIEWS_HEADER, type FeedMessage } from "./apps.js";

export interface FeedStats {
  /** WebSocket sessions opened. */
  sessions: number;
  /** Messages sent, and answers with ratings (which came over gRPC). */
  sent: number;
  answered: number;
  /** Answers that carried an error, sessions that failed or timed out, messages skipped while connecting. */
  failed: number;
  skipped: number;
}

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
  /** The feed's WebSocket sessions (all zeros without `feedUrl`). */
  feed: FeedStats;
}

export interface TrafficGenerator {
  readonly rps: number;
  stats(): TrafficStats;
  stop(): Promise<void>;
}

export function startTraffic(opts: {
  url: string;
  /** `ws://…/feed` through the ingress; absent: no WebSocket traffic. */
  feedUrl?: string;
  rps: number;
  /**
   * Send every request to this address instead, with the URL's host as `Host`: a caller inside the mesh
   * sends `http://productpage/productpage` to its sidecar's outbound listener (`127.0.0.1:15001`).
   */
  via?: { host: string; port: number };
  maxInFlight?: number;
  timeoutMs?: number;
  /** Messages per WebSocket session before it is closed and a new one opened; default 10. */
  messagesPerSession?: number;
}): TrafficGenerator {
  const maxInFlight = opts.maxInFlight ?? 64;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const target = new URL(opts.url);
  // Resolved once: where each request connects, and the Host it names.
  const connect = opts.via
    ? { host: opts.via.host, port: opts.via.port, headers: { host: target.host } }
    : { host: target.hostname, port: target.port };
  const agent = new Agent({ keepAlive: true, maxSockets: maxInFlight });
  const stats: TrafficStats = {
    sent: 0,
    ok: 0,
    failed: 0,
    byOutcome: {},
    skipped: 0,
    feed: { sessions: 0, sent: 0, answered: 0, failed: 0, skipped: 0 },
  };
  const feed = opts.feedUrl === undefined ? null : feedSessions(opts.feedUrl, stats.feed, opts);
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
        feed?.tick();
      }
      timer = setTimeout(tick, Math.max(1, start + n * intervalMs - performance.now()));
    };
    tick();
  }

  return {
    rps: opts.rps,
    stats: () => ({ ...stats, byOutcome: { ...stats.byOutcome }, feed: { ...stats.feed } }),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await Promise.all([...inFlight, feed?.stop()]);
      agent.destroy();
    },
  };
}

/**
 * One WebSocket session at a time to the feed: each tick sends `{"product": 0}` on it; after
 * `messagesPerSession` answers it is closed, and the next tick opens a new one. A session that does not open,
 * or an answer that does not come, within `timeoutMs` ends the session as failed.
 */
function feedSessions(
  url: string,
  stats: FeedStats,
  opts: { timeoutMs?: number; messagesPerSession?: number; via?: { host: string; port: number } },
): { tick(): void; stop(): Promise<void> } {
  // Through a sidecar: connect to its outbound listener, naming the service in Host, as for plain requests.
  const target = new URL(url);
  const connectTo = opts.via
    ? `ws://${opts.via.host}:${opts.via.port}${target.pathname}${target.search}`
    : url;
  const headers = opts.via ? { host: target.host } : undefined;
  const perSession = opts.messagesPerSession ?? 10;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  let ws: WebSocket | null = null;
  let sentOnSession = 0;
  let waiting = 0;
  let deadline: NodeJS.Timeout | null = null;
  let closed: Promise<void> = Promise.resolve();

  const end = (failed: boolean, now = false) => {
    const s = ws;
    if (s === null) return;
    ws = null;
    if (deadline) clearTimeout(deadline);
    deadline = null;
    if (failed) stats.failed++;
    if (s.readyState !== WebSocket.OPEN || now) return void s.terminate();
    // A polite close, but do not wait for the peer's close frame longer than a second (ws waits 30 s).
    s.close(1000);
    setTimeout(() => s.terminate(), 1_000).unref();
  };
  const arm = () => {
    if (deadline) clearTimeout(deadline);
    deadline = setTimeout(() => end(true), timeoutMs);
  };

  const open = () => {
    stats.sessions++;
    sentOnSession = 0;
    waiting = 0;
    const s = new WebSocket(connectTo, { handshakeTimeout: timeoutMs, ...(headers ? { headers } : {}) });
    ws = s;
    closed = new Promise<void>((resolve) => s.once("close", () => resolve()));
    arm();
    s.on("open", () => {
      if (ws === s && waiting === 0 && deadline) clearTimeout(deadline);
    });
    s.on("message", (data) => {
      if (ws !== s) return;
      const m = JSON.parse(String(data)) as FeedMessage;
      waiting--;
      if ("ratings" in m) stats.answered++;
      else stats.failed++;
      if (waiting === 0 && deadline) clearTimeout(deadline);
      if (sentOnSession >= perSession && waiting === 0) end(false);
    });
    s.on("error", () => {});
    s.on("close", () => {
      if (ws === s) end(true); // closed before it was done
    });
  };

  return {
    tick() {
      if (ws === null) open();
      const s = ws!;
      if (s.readyState !== WebSocket.OPEN || sentOnSession >= perSession) {
        stats.skipped++;
        return;
      }
      s.send(JSON.stringify({ product: 0 }));
      sentOnSession++;
      waiting++;
      stats.sent++;
      arm();
    },
    async stop() {
      end(false, true);
      await closed;
    },
  };
}
