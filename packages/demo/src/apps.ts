// The demo's applications: small real HTTP servers modelled on the classic mesh demo (a book's product page).
// They know nothing about the mesh but how to reach another service (`Reach`): either by name, as any app does
// (`http://details.demo:9080/…`; in a pod its sidecar answers the name and captures the connection), or, where
// nothing captures their traffic, through their own sidecar's outbound listener with `Host: <service>` (gRPC:
// `:authority: <service>` over h2c). Everything else (which version answers, mTLS, retries, telemetry) is the
// sidecars' job, which is what the demo shows. Three protocols cross the mesh: HTTP/1.1 (most calls), gRPC
// (ratings' GetRating, from reviews v3 and the feed) and WebSocket (the live ratings feed the front page opens
// through the ingress).
import http2 from "node:http2";
import { WebSocketServer, type WebSocket } from "ws";
import {
  GRPC_UNAVAILABLE,
  decodeGetRatingRequest,
  decodeGetRatingResponse,
  encodeGetRatingRequest,
  encodeGetRatingResponse,
  GET_RATING_PATH,
  grpcVia,
  isGrpc,
  serveUnary,
} from "./grpc.js";
import {
  Agent,
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { target, type Reach } from "./reach.js";
import { AppTracer, traceHeaders, withRequestTrace } from "./tracing.js";
import { FAULT_MESSAGE, faultGate, type FaultSwitch } from "./faults.js";

/** What one call through the sidecar returned. `status` 0: the sidecar could not be reached at all. */
export interface CallResult {
  status: number;
  body: string;
}

/** Calls `service` through the sidecar's outbound listener on `outboundPort`. Never throws. */
export type Caller = (service: string, path: string) => Promise<CallResult>;

/** Calls other services as `reach` says. */
export function callerVia(reach: Reach, timeoutMs = 3_000): { call: Caller; close: () => void } {
  // Keep-alive (to the local sidecar, or per service): the demo runs for hours at a steady rate.
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const call: Caller = (service, path) =>
    new Promise((resolve) => {
      const to = target(reach, service);
      const req = request(
        {
          host: to.host,
          port: to.port,
          path,
          agent,
          // By name, Node's own Host (`details.demo:9080`) is the right one: set only for the sidecar's listener.
          // The trace headers of the request being served go with every call made for it.
          headers: { ...traceHeaders(), ...(reach.via === "sidecar" ? { host: to.authority } : {}) },
          timeout: timeoutMs,
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          res.on("error", () => resolve({ status: 0, body: "" }));
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", () => resolve({ status: 0, body: "" }));
      req.end();
    });
  return { call, close: () => agent.destroy() };
}

/** Asks ratings for a product's stars over gRPC; `error` says why there are none. Never throws. */
export type RatingsClient = (
  productId: number,
) => Promise<{ ratings: Record<string, number> } | { error: string }>;

/** A gRPC ratings client (h2c), reaching ratings as `reach` says. */
export function ratingsVia(reach: Reach, timeoutMs = 3_000): { getRating: RatingsClient; close: () => void } {
  const grpc = grpcVia(reach, timeoutMs);
  return {
    getRating: async (productId) => {
      const r = await grpc.call("ratings", GET_RATING_PATH, encodeGetRatingRequest(productId));
      if (!("value" in r)) return { error: `gRPC status ${r.status}${r.message ? ` (${r.message})` : ""}` };
      return { ratings: decodeGetRatingResponse(r.value).ratings };
    },
    close: grpc.close,
  };
}

/** What an app may use to call other services through its sidecar. */
export interface Clients {
  call: Caller;
  getRating: RatingsClient;
  /**
   * Where the app sends spans of its own (OTLP/HTTP traces, its sidecar's admin `/v1/traces`); undefined while
   * unknown. Only productpage records any.
   */
  spans?: () => string | undefined;
}

export interface App {
  name: string;
  version: string;
  port: number;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Where an app listens. Default: a free port on 127.0.0.1 (its sidecar is on the same host). */
export interface ListenAt {
  host?: string;
  port?: number;
  /** The workload's fault switch (faults.ts), read once per request; absent: the app never fails on purpose. */
  fault?: FaultSwitch;
}

async function listen(
  name: string,
  version: string,
  at: ListenAt,
  handler: Handler,
): Promise<App & { server: Server }> {
  const serve = (req: IncomingMessage, res: ServerResponse) =>
    Promise.resolve(withRequestTrace(req, () => handler(req, res))).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end(`${name}: ${(e as Error).message}`);
    });
  const server: Server = createServer((req, res) => {
    if (req.url === "/health") return void res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    const gate = faultGate(at.fault);
    if (gate === false) return void serve(req, res);
    void gate.then((fail) => {
      if (!fail) return serve(req, res);
      req.resume();
      res.writeHead(500, { "content-type": "text/plain" }).end(`${name} ${version}: ${FAULT_MESSAGE}`);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(at.port ?? 0, at.host ?? "127.0.0.1", () => resolve());
  });
  return {
    name,
    version,
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const json = (res: ServerResponse, status: number, value: unknown): void => {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
};

/** `/details/0` → the book's details. */
export function detailsApp(at: ListenAt = {}): Promise<App> {
  return listen("details", "v1", at, (req, res) => {
    const m = /^\/details\/(\d+)$/.exec(req.url ?? "");
    if (!m) return json(res, 404, { error: "not found" });
    json(res, 200, {
      id: Number(m[1]),
      author: "William Shakespeare",
      year: 1595,
      type: "paperback",
      pages: 200,
      publisher: "PublisherA",
      language: "English",
      "ISBN-10": "1234567890",
    });
  });
}

const RATINGS: Record<string, number> = { Reviewer1: 5, Reviewer2: 4 };

/**
 * ratings speaks HTTP/2 with prior knowledge (h2c), as gRPC servers do: its sidecar is told so
 * (`app.protocol: "h2c"`) and reaches it over HTTP/2 for every caller. It answers the gRPC call
 * `trellis.demo.v1.Ratings/GetRating` (proto/ratings.proto) and, beside it, `GET /ratings/0` as JSON for
 * HTTP/1.1 callers (reviews v2), whose requests the sidecar carries to it over HTTP/2.
 */
export async function ratingsApp(at: ListenAt = {}): Promise<App> {
  const server = http2.createServer();
  const answer = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    if (isGrpc(headers)) {
      serveUnary(stream, headers, {
        [GET_RATING_PATH]: (message) => {
          const { productId } = decodeGetRatingRequest(message);
          return encodeGetRatingResponse({ productId, ratings: RATINGS });
        },
      });
      return;
    }
    stream.resume(); // a GET has no body to read
    const path = String(headers[":path"] ?? "");
    const m = /^\/ratings\/(\d+)$/.exec(path);
    const [status, body] =
      path === "/health"
        ? [200, "ok"]
        : m
          ? [200, JSON.stringify({ id: Number(m[1]), ratings: RATINGS })]
          : [404, JSON.stringify({ error: "not found" })];
    stream.respond({
      ":status": status,
      "content-type": path === "/health" ? "text/plain" : "application/json",
    });
    stream.end(body);
  };
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    if (headers[":path"] === "/health") return answer(stream, headers);
    const gate = faultGate(at.fault);
    if (gate === false) return answer(stream, headers);
    void gate.then((fail) => {
      if (stream.destroyed) return;
      if (!fail) return answer(stream, headers);
      stream.resume();
      if (isGrpc(headers))
        // Trailers-only, as a gRPC server answers an immediate error.
        return stream.respond(
          {
            ":status": 200,
            "content-type": "application/grpc",
            "grpc-status": String(GRPC_UNAVAILABLE),
            "grpc-message": encodeURIComponent(`ratings v1: ${FAULT_MESSAGE}`),
          },
          { endStream: true },
        );
      stream.respond({ ":status": 500, "content-type": "text/plain" });
      stream.end(`ratings v1: ${FAULT_MESSAGE}`);
    });
  });
  server.on("sessionError", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(at.port ?? 0, at.host ?? "127.0.0.1", () => resolve());
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => (sessions.add(s), s.once("close", () => sessions.delete(s))));
  return {
    name: "ratings",
    version: "v1",
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.destroy();
      }),
  };
}

export type ReviewsVersion = "v1" | "v2" | "v3";

export interface Review {
  reviewer: string;
  text: string;
  /** Absent in v1; `error` when ratings could not be reached. */
  rating?: { stars: number; color: "black" | "red" } | { error: string };
}

export interface ReviewsBody {
  version: ReviewsVersion;
  reviews: Review[];
}

/**
 * `/reviews/0` → two reviews. v1: no ratings; v2: black stars, asking `ratings` over HTTP/1.1 (JSON); v3: red
 * stars, asking `ratings` over gRPC. So the graph shows both protocols into one service.
 */
export function reviewsApp(
  version: ReviewsVersion,
  { call, getRating }: Clients,
  at: ListenAt = {},
): Promise<App> {
  return listen("reviews", version, at, async (req, res) => {
    const m = /^\/reviews\/(\d+)$/.exec(req.url ?? "");
    if (!m) return json(res, 404, { error: "not found" });
    const reviews: Review[] = [
      {
        reviewer: "Reviewer1",
        text: "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!",
      },
      {
        reviewer: "Reviewer2",
        text: "Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.",
      },
    ];
    if (version !== "v1") {
      let ratings: Record<string, number> | null = null;
      let why = "";
      if (version === "v2") {
        const r = await call("ratings", `/ratings/${m[1]}`);
        if (r.status === 200) ratings = (JSON.parse(r.body) as { ratings: Record<string, number> }).ratings;
        else why = r.status === 0 ? "no answer" : `HTTP ${r.status}`;
      } else {
        const r = await getRating(Number(m[1]));
        if ("ratings" in r) ratings = r.ratings;
        else why = r.error;
      }
      const color = version === "v2" ? "black" : "red";
      for (const rev of reviews) {
        const stars = ratings?.[rev.reviewer];
        rev.rating = stars === undefined ? { error: `ratings unavailable (${why})` } : { stars, color };
      }
    }
    json(res, 200, { version, reviews } satisfies ReviewsBody);
  });
}

/** What the feed sends back for each `{"product": n}` a client sends. */
export type FeedMessage =
  | { product: number; ratings: Record<string, number>; at: string }
  | { product: number; error: string; at: string };

export const FEED_PATH = "/feed";

/**
 * The live ratings feed: a WebSocket at `/feed` (the ingress sends `/feed` here; the front page opens it).
 * Each `{"product": n}` a client sends is answered with that product's current ratings, which the feed asks
 * `ratings` for over gRPC. So one session carries many messages, and each message one gRPC call.
 */
export async function feedApp(getRating: RatingsClient, at: ListenAt = {}): Promise<App> {
  const app = await listen("feed", "v1", at, (_req, res) => {
    res.writeHead(426, { "content-type": "text/plain", upgrade: "websocket" }).end("feed: open a WebSocket");
  });
  const wss = new WebSocketServer({ server: app.server, path: FEED_PATH, maxPayload: 4096 });
  wss.on("connection", (ws: WebSocket) => {
    ws.on("error", () => ws.terminate());
    ws.on("message", (data) => {
      let product = 0;
      try {
        product = Number((JSON.parse(String(data)) as { product?: unknown }).product ?? 0) | 0;
      } catch {
        return ws.close(1003, "expected JSON");
      }
      void getRating(product).then((r) => {
        const at = new Date().toISOString();
        const msg: FeedMessage =
          "ratings" in r ? { product, ratings: r.ratings, at } : { product, error: r.error, at };
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
      });
    });
  });
  return {
    ...app,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await app.close();
    },
  };
}

/** The response header that says which reviews version answered (`reviews-v2`), or why none did. */
export const REVIEWS_HEADER = "x-demo-reviews";

/**
 * The front page: calls `details` and `reviews` and renders both. It answers 200 even when one of them fails
 * (and says so on the page), as the classic demo does; the header `x-demo-reviews` tells the traffic generator
 * which reviews version answered, or `error …`.
 */
export async function productpageApp({ call, spans }: Clients, at: ListenAt = {}): Promise<App> {
  // Instrumented with the OpenTelemetry SDK (tracing.ts): its own span per page, between its sidecar's.
  const tracer = new AppTracer(spans ?? (() => undefined), {
    name: "productpage",
    version: "v1",
    namespace: "demo",
  });
  const app = await listen("productpage", "v1", at, async (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/" && path !== "/productpage") {
      return void res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
    const [d, r] = await tracer.span("render product page", req, () =>
      Promise.all([call("details", "/details/0"), call("reviews", "/reviews/0")]),
    );
    const details = d.status === 200 ? (JSON.parse(d.body) as Record<string, string | number>) : null;
    const reviews = r.status === 200 ? (JSON.parse(r.body) as ReviewsBody) : null;
    const answered = reviews
      ? `reviews-${reviews.version}`
      : `error ${r.status === 0 ? "no answer" : r.status}`;
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", [REVIEWS_HEADER]: answered });
    res.end(renderPage(details, d.status, reviews, r.status));
  });
  return { ...app, close: () => app.close().finally(() => tracer.close()) };
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function stars(n: number, color: string): string {
  const full = "★".repeat(Math.max(0, Math.min(5, n)));
  const empty = "☆".repeat(5 - full.length);
  return `<span class="stars" style="color:${color === "red" ? "#c00" : "#000"}" aria-label="${n} of 5 stars, ${color}">${full}${empty}</span>`;
}

function renderPage(
  details: Record<string, string | number> | null,
  detailsStatus: number,
  reviews: ReviewsBody | null,
  reviewsStatus: number,
): string {
  const detailsHtml = details
    ? `<dl>${Object.entries(details)
        .filter(([k]) => k !== "id")
        .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`)
        .join("")}</dl>`
    : `<p class="error">Error fetching product details (${detailsStatus === 0 ? "no answer" : `HTTP ${detailsStatus}`})</p>`;
  const reviewsHtml = reviews
    ? `<p class="reviews-version">Served by <strong>reviews-${esc(reviews.version)}</strong></p>` +
      reviews.reviews
        .map((rv) => {
          const rating = !rv.rating
            ? ""
            : "error" in rv.rating
              ? `<p class="error">${esc(rv.rating.error)}</p>`
              : stars(rv.rating.stars, rv.rating.color);
          return `<blockquote><p>${esc(rv.text)}</p><footer>${esc(rv.reviewer)}</footer>${rating}</blockquote>`;
        })
        .join("")
    : `<p class="error">Error fetching product reviews (${reviewsStatus === 0 ? "no answer" : `HTTP ${reviewsStatus}`})</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>The Comedy of Errors · Trellis demo</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
.cols{display:grid;grid-template-columns:1fr 2fr;gap:2rem}.error{color:#c00}.stars{font-size:1.4rem}
dt{font-weight:600}blockquote{border-left:3px solid #ddd;margin:1rem 0;padding-left:1rem}</style></head>
<body><h1>The Comedy of Errors</h1>
<p>Summary: Wikipedia says it is one of William Shakespeare's early plays, his shortest and one of his most farcical comedies.</p>
<div class="cols"><section><h2>Book Details</h2>${detailsHtml}</section>
<section><h2>Book Reviews</h2>${reviewsHtml}</section></div>
<section aria-label="Live ratings"><h2>Live ratings</h2><p id="live" class="live">connecting to the feed…</p></section>
<p><small>Each service runs beside its own Trellis sidecar in namespace <code>demo</code>; reload to see which reviews version the mesh chose. The live ratings come over a WebSocket (through the ingress to <code>feed</code>), which asks <code>ratings</code> over gRPC.</small></p>
<script>(() => {
  const live = document.getElementById("live");
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "${FEED_PATH}");
  const ask = () => ws.readyState === 1 && ws.send(JSON.stringify({ product: 0 }));
  ws.onopen = () => { ask(); setInterval(ask, 3000); };
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    live.textContent = m.error ? "feed: " + m.error
      : Object.entries(m.ratings).map(([who, n]) => who + " " + "\\u2605".repeat(n)).join(" · ") + " (" + new Date(m.at).toLocaleTimeString() + ")";
  };
  ws.onclose = () => { live.textContent = "the feed closed; reload to reconnect"; };
})();</script>
</body></html>`;
}

/** Each demo app and the versions it comes in. `ingress` is the gateway browsers open. */
export const DEMO_APPS = {
  productpage: ["v1"],
  details: ["v1"],
  reviews: ["v1", "v2", "v3"],
  ratings: ["v1"],
  feed: ["v1"],
  ingress: ["v1"],
} as const satisfies Record<string, readonly string[]>;

/** How each app speaks, as its sidecar must be told (`trellis proxy --app-protocol`): ratings is a gRPC server. */
export const DEMO_APP_PROTOCOL: Record<DemoAppName, "http1" | "h2c"> = {
  productpage: "http1",
  details: "http1",
  reviews: "http1",
  ratings: "h2c",
  feed: "http1",
  ingress: "http1",
};

export type DemoAppName = keyof typeof DEMO_APPS;

export const isDemoApp = (name: string): name is DemoAppName => Object.hasOwn(DEMO_APPS, name);

/**
 * The app of one demo workload (every one but the ingress, whose "app" is the gateway), calling others with
 * `clients`. `trellis up --demo` starts them all in one process; `startDemoApp` one on its own.
 */
export function demoApp(
  name: Exclude<DemoAppName, "ingress">,
  version: string,
  clients: Clients,
  at: ListenAt = {},
): Promise<App> {
  switch (name) {
    case "productpage":
      return productpageApp(clients, at);
    case "details":
      return detailsApp(at);
    case "ratings":
      return ratingsApp(at);
    case "feed":
      return feedApp(clients.getRating, at);
    case "reviews":
      return reviewsApp(version as ReviewsVersion, clients, at);
  }
}
