// The outbound listener: the local app calls other services through it, as an HTTP proxy (absolute-form
// `GET http://reviews/...`) or with `Host: reviews`. It resolves the service, picks the route, and runs the
// route's stack (built at config time). Telemetry and the one error edge are in edge.ts.
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { ProxyError } from "../core/errors.js";
import type { ClientResponse } from "../core/respond.js";
import { newContext, type ProxyRequest } from "../core/types.js";
import type { CompiledRoute } from "../config/snapshot.js";
import type { MatchInput } from "../router/match.js";
import { nextSpan } from "../telemetry/trace.js";
import { requestProtocol } from "../telemetry/protocol.js";
import { Exchange, guardBody, readHead, type RawClient } from "./edge.js";
import type { ProxyCore } from "./core.js";
import { splitAbsolute } from "./target.js";
import { dialledOf } from "./captured.js";

export function outboundHandler(core: ProxyCore) {
  return function onOutboundRequest(
    req: IncomingMessage | Http2ServerRequest,
    res: ClientResponse | null,
    isH2: boolean,
    raw?: RawClient,
  ): void {
    const start = performance.now();
    const snap = core.snapshot; // read once: a swap mid-request does not affect this request
    const head = readHead(req, isH2);
    const url = req.url ?? "/";
    let authority = head.host;
    let path = url;
    if (url.charCodeAt(0) !== 47 /* / */) {
      // Absolute form (HTTP_PROXY=http://127.0.0.1:15001): http://host[:port]/path
      const target = splitAbsolute(url);
      if (target === null) {
        rejectEarly(
          core,
          req,
          res,
          start,
          authority,
          new ProxyError("DP_BAD_REQUEST", `unsupported request target ${url.slice(0, 100)}`),
          isH2,
          raw,
        );
        return;
      }
      authority = target.authority;
      path = target.path;
    }
    const ctx = newContext(start, snap.config.limits.streamIdleTimeoutMs);
    const span = nextSpan(head.traceparent, core.sampler);
    const ex = new Exchange(req, res, ctx, "outbound", span, core.accessLog, core.spans, authority);
    if (raw !== undefined) ex.raw = raw;
    const protocol = requestProtocol(req, isH2, raw?.protocol ?? null);
    ex.protocol = protocol;
    // Where a captured connection was dialled is read only when the Host names no service.
    const svc = snap.named(authority) ?? snap.unnamed(dialledOf(req));
    if (svc === null) {
      ex.series = core.unknownSeries(protocol);
      ex.fail(new ProxyError("DP_UNKNOWN_SERVICE", `no service is known as ${authority || "(no host)"}`));
      return;
    }
    const route = matchRoute(svc.routes, req, path);
    ex.series = null;
    if (route === null) {
      ex.series = svc.destination.seriesFor("", protocol);
      ex.fail(new ProxyError("DP_NO_ROUTE", `no route of ${svc.service.name} matches ${req.method} ${path}`));
      return;
    }
    const headers = head.headers;
    headers.push("traceparent", span.header);
    if (svc.service.mtls) headers.push("x-trellis-source-version", snap.config.identity.version);
    if (core.draining && res !== null && !isH2) res.setHeader("connection", "close");
    if (head.hasBody) guardBody(req, snap.config.limits.requestTimeoutMs);
    // Recorded here if the deadline answers before any endpoint does.
    if (ex.armGrpcDeadline(head.grpcTimeout)) ex.series = svc.destination.seriesFor("", protocol);
    const preq: ProxyRequest = {
      method: req.method!,
      authority,
      path,
      headers,
      incoming: req,
      body: head.hasBody ? req : null,
      h2: isH2,
      upgrade: raw?.protocol ?? null,
    };
    const dest = svc.destination;
    route.handler(preq, ctx).then(
      (r) => {
        ex.series = dest.seriesFor(ctx.upstreamVersion, protocol);
        ex.respond(r);
      },
      (err) => {
        ex.series = dest.seriesFor(ctx.upstreamVersion, protocol);
        ex.fail(err);
      },
    );
  };
}

function matchRoute(
  routes: CompiledRoute[],
  req: IncomingMessage | Http2ServerRequest,
  path: string,
): CompiledRoute | null {
  const first = routes[0]!;
  if (first.match === null) return first;
  const q = path.indexOf("?");
  const input: MatchInput = {
    method: req.method!,
    path: q === -1 ? path : path.slice(0, q),
    query: q === -1 ? "" : path.slice(q + 1),
    headers: req.headers,
  };
  for (const r of routes) if (r.match === null || r.match(input)) return r;
  return null;
}

function rejectEarly(
  core: ProxyCore,
  req: IncomingMessage | Http2ServerRequest,
  res: ClientResponse | null,
  start: number,
  authority: string,
  err: ProxyError,
  isH2: boolean,
  raw?: RawClient,
): void {
  const ex = new Exchange(req, res, newContext(start), "outbound", null, core.accessLog, null, authority);
  if (raw !== undefined) ex.raw = raw;
  ex.protocol = requestProtocol(req, isH2, raw?.protocol ?? null);
  ex.series = core.unknownSeries(ex.protocol);
  ex.fail(err);
}
