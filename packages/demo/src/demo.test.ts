// The demo mesh with real parts: a real control plane on a real PostgreSQL, the demo's initial state seeded as
// `trellis up --demo` seeds it (an applied system change), then every demo app beside its own sidecar, joined
// with a join token. Through the ingress, the front page must come from reviews v1 only (the seeded Route),
// over mTLS, and the sidecars' telemetry must land in the rollups as productpage → reviews. The live feed is a
// WebSocket through the ingress whose messages each cost a gRPC call to ratings: both must go through the
// sidecars, and the rollups and the graph API must say which protocol each edge spoke.
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { WebSocket } from "ws";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { createDb } from "@trellis/db";
import {
  bootstrap,
  createJoinToken,
  getTrace,
  seedResourcesAsSystemChange,
  serviceGraph,
  SYSTEM_ACTOR,
  type Actor,
} from "@trellis/services";
import { meshCompiler, startControlPlane, type ControlPlane } from "@trellis/control-plane";
import { DEMO_NAMESPACE, demoResources, FEED_PATH, startDemo, type Demo, type FeedMessage } from "./index.js";
import { freePort } from "@trellis/dataplane/testing";
import { getPage as get } from "./testing.js";

const url = inject("databaseUrl");
const db = createDb(url);
let cp: ControlPlane;
let demo: Demo;

/** Requests counted in the rollups for one edge of the demo, by the reporting side. */
async function edge(source: string, dest: string) {
  const rows = await db.telemetryRollup.findMany({
    where: {
      sourceNamespace: DEMO_NAMESPACE,
      sourceService: source,
      destNamespace: DEMO_NAMESPACE,
      destService: dest,
    },
  });
  return rows;
}

/**
 * The generator's rate: every front page costs ~10 sidecar hops and every feed message ~6, all in this one
 * process; 10/s keeps a shared 2-core machine from queueing requests past the test's timeouts.
 */
const RPS = 10;

const admin: Actor = {
  kind: "user",
  userId: "u-demo-admin",
  name: "admin",
  via: "api",
  bindings: [{ role: "admin", namespace: "*" }],
};

/** Requests in the caller's (outbound) reports for one edge and protocol, by status code. */
async function outboundCodes(source: string, dest: string, protocol: string) {
  const codes: Record<string, number> = {};
  for (const r of await edge(source, dest))
    if (r.reporter === "outbound" && r.protocol === protocol)
      codes[r.statusCode] = (codes[r.statusCode] ?? 0) + Number(r.requests);
  return codes;
}

/** Opens the feed through the ingress, sends `n` messages one after another, returns the answers. */
async function feedExchange(n: number): Promise<FeedMessage[]> {
  const ws = new WebSocket(`ws://127.0.0.1:${demo.ingressPort}${FEED_PATH}`, { handshakeTimeout: 5_000 });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const out: FeedMessage[] = [];
    for (let i = 0; i < n; i++) {
      const answer = new Promise<FeedMessage>((resolve) =>
        ws.once("message", (d) => resolve(JSON.parse(String(d)) as FeedMessage)),
      );
      ws.send(JSON.stringify({ product: i }));
      out.push(await answer);
    }
    return out;
  } finally {
    ws.close();
  }
}

beforeAll(async () => {
  cp = await startControlPlane({
    databaseUrl: url,
    secret: "test-demo-secret-test-demo-secret-0123",
    compile: meshCompiler(),
    port: await freePort(),
    debounceMs: 20,
    registryIntervalMs: 100,
    // Sidecars report every 200 ms here (10 s by default), so rollups fill within the test.
    telemetryIntervalMs: 200,
  });
  await bootstrap(db, { adminPassword: "demo-test-admin-password" });
  const seeded = await seedResourcesAsSystemChange(db, SYSTEM_ACTOR, {
    title: "demo mesh: initial state",
    reason: "test",
    resources: demoResources(),
  });
  expect(seeded.created).toEqual(["MeshSettings/trellis-system/mesh", "Route/demo/reviews"]);
  const { token } = await createJoinToken(db, SYSTEM_ACTOR, { namespace: DEMO_NAMESPACE });
  demo = await startDemo({ controlPlaneUrl: cp.url, token, ingressPort: 0, rps: RPS });
});

afterAll(async () => {
  await demo?.stop();
  await cp?.close();
  await db.$disconnect();
});

describe("the demo mesh", () => {
  it("joins every workload to the mesh with its own identity", () => {
    const ids = [...demo.sidecars()].map(([w, s]) => `${w} ${s.certificate()?.spiffeId}`).sort();
    expect(ids).toEqual([
      "details-v1 spiffe://trellis.local/ns/demo/sa/details",
      "feed-v1 spiffe://trellis.local/ns/demo/sa/feed",
      "ingress-v1 spiffe://trellis.local/ns/demo/sa/ingress",
      "productpage-v1 spiffe://trellis.local/ns/demo/sa/productpage",
      "ratings-v1 spiffe://trellis.local/ns/demo/sa/ratings",
      "reviews-v1 spiffe://trellis.local/ns/demo/sa/reviews",
      "reviews-v2 spiffe://trellis.local/ns/demo/sa/reviews",
      "reviews-v3 spiffe://trellis.local/ns/demo/sa/reviews",
    ]);
  });

  it("serves the front page through the ingress, with reviews from v1 only (the seeded Route)", async () => {
    // Endpoints arrive as the workloads join: wait until the page has details and reviews.
    await expect.poll(async () => (await get(`${demo.ingressUrl}/productpage`)).reviews).toBe("reviews-v1");
    const pages = await Promise.all(Array.from({ length: 30 }, () => get(`${demo.ingressUrl}/`)));
    expect(pages.map((p) => `${p.status} ${p.reviews}`)).toEqual(Array(30).fill("200 reviews-v1"));
    const page = pages[0]!.body;
    expect(page).toContain("Served by <strong>reviews-v1</strong>");
    expect(page).toContain("William Shakespeare"); // from details
    expect(page).not.toContain("★"); // v1 shows no ratings
    expect(page).not.toMatch(/Error fetching/);
  });

  it("keeps the generator's steady traffic flowing, all of it answered by reviews v1", async () => {
    const before = demo.traffic();
    await new Promise((r) => setTimeout(r, 2_000));
    const after = demo.traffic();
    const sent = after.sent - before.sent;
    // RPS req/s for 2 s; timers on a busy machine may lag a little.
    expect(sent).toBeGreaterThanOrEqual(RPS * 1.5);
    expect(sent).toBeLessThanOrEqual(RPS * 2.25);
    expect(after.failed - before.failed).toBe(0);
    // Failures from before every workload had joined may show up in the totals, but never another version.
    expect(Object.keys(after.byOutcome).filter((k) => k.startsWith("reviews-"))).toEqual(["reviews-v1"]);
    // The feed at the same rate: one message per front page (less ticks that come while a new session's
    // handshake is under way), each answered with ratings that came over gRPC; a new session every 10.
    const messages = after.feed.sent - before.feed.sent;
    const answered = after.feed.answered - before.feed.answered;
    // Every tick sends a message, or skips it while a new session's handshake is under way.
    expect(messages + after.feed.skipped - before.feed.skipped).toBe(sent);
    expect(messages).toBeGreaterThanOrEqual(RPS / 2);
    expect(answered).toBeGreaterThanOrEqual(messages - 2); // the last one or two may still be on their way
    expect(after.feed.failed - before.feed.failed).toBe(0);
    expect(after.feed.sessions - before.feed.sessions).toBeGreaterThanOrEqual(1);
  });

  it("carries the feed's WebSocket through the sidecars, each message answered over gRPC", async () => {
    const answers = await feedExchange(3);
    expect(answers.map((a) => ("ratings" in a ? [a.product, a.ratings] : a.error))).toEqual([
      [0, { Reviewer1: 5, Reviewer2: 4 }],
      [1, { Reviewer1: 5, Reviewer2: 4 }],
      [2, { Reviewer1: 5, Reviewer2: 4 }],
    ]);
  });

  it("answers a real gRPC client (@grpc/grpc-js, proto/ratings.proto) through a sidecar", async () => {
    const def = protoLoader.loadSync(fileURLToPath(new URL("../proto/ratings.proto", import.meta.url)), {
      keepCase: false,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      trellis: { demo: { v1: { Ratings: grpc.ServiceClientConstructor } } };
    };
    // Any sidecar's outbound listener will do: the ingress's. `:authority: ratings` names the service.
    const outbound = demo.sidecars().get("ingress-v1")!.proxy()!.addresses.outbound!.port;
    const client = new pkg.trellis.demo.v1.Ratings(
      `127.0.0.1:${outbound}`,
      grpc.credentials.createInsecure(),
      {
        "grpc.default_authority": "ratings",
      },
    );
    try {
      type Unary = (
        req: object,
        meta: { deadline: number },
        cb: (err: grpc.ServiceError | null, res: unknown) => void,
      ) => void;
      const getRating = (client as unknown as { getRating: Unary }).getRating.bind(client);
      const ok = await new Promise<{ err: grpc.ServiceError | null; res: unknown }>((resolve) =>
        getRating({ productId: 7 }, { deadline: Date.now() + 5_000 }, (err, res) => resolve({ err, res })),
      );
      expect(ok.err).toBeNull();
      expect(ok.res).toEqual({ productId: 7, ratings: { Reviewer1: 5, Reviewer2: 4 } });
    } finally {
      client.close();
    }
    // The ingress sidecar counted it as gRPC, answered OK (its own metrics: the rollups are checked below).
    const adminPort = demo.sidecars().get("ingress-v1")!.proxy()!.addresses.admin!.port;
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/stats/prometheus`)).text();
    expect(metrics).toMatch(
      /trellis_requests_total\{direction="outbound",[^}]*destination_service="ratings"[^}]*protocol="grpc",response_code="200"\} 1\n/,
    );
  });

  it("records each edge's protocol in the rollups and the graph API", async () => {
    await expect
      .poll(async () => (await outboundCodes("ingress", "feed", "websocket"))["101"] ?? 0)
      .toBeGreaterThan(1);
    await expect
      .poll(async () => (await outboundCodes("feed", "ratings", "grpc"))["200"] ?? 0)
      .toBeGreaterThan(20);
    // Nothing failed on either, and both sides of each call speak of the same protocol, over mTLS.
    for (const [src, dst, protocol] of [
      ["ingress", "feed", "websocket"],
      ["feed", "ratings", "grpc"],
      ["ingress", "productpage", "http1"],
    ] as const) {
      const rows = (await edge(src, dst)).filter((r) => r.sourceVersion !== "unknown");
      expect(new Set(rows.map((r) => r.protocol))).toEqual(new Set([protocol]));
      expect(new Set(rows.map((r) => r.reporter))).toEqual(new Set(["inbound", "outbound"]));
      for (const r of rows) expect(r.mtlsRequests).toBe(r.requests);
    }
    // OK, or CANCELLED (499) where the feed gave up waiting on a machine too busy to answer in 3 s; never an
    // error of ratings' own.
    const codes = await outboundCodes("feed", "ratings", "grpc");
    expect(Object.keys(codes).filter((c) => c !== "200" && c !== "499")).toEqual([]);
    expect(codes["200"]!).toBeGreaterThan(20 * (codes["499"] ?? 0));

    const graph = await serviceGraph(db, admin, { namespace: DEMO_NAMESPACE, window: "5m" });
    const protocols = Object.fromEntries(graph.edges.map((e) => [`${e.source} → ${e.target}`, e.protocols]));
    expect(protocols).toMatchObject({
      "demo/ingress → demo/productpage": ["http1"],
      "demo/ingress → demo/feed": ["websocket"],
      "demo/feed → demo/ratings": ["grpc"],
      "demo/productpage → demo/reviews": ["http1"],
    });
    const feedEdge = graph.edges.find((e) => e.target === "demo/ratings" && e.source === "demo/feed")!;
    expect(feedEdge).toMatchObject({ errorRate: 0, mtlsPercent: 100, protocol: "http" });
  });

  it("lands telemetry for ingress → productpage → reviews v1 in the rollups, all over mTLS", async () => {
    await expect
      .poll(async () => {
        const rows = await edge("productpage", "reviews");
        return (
          rows.filter((r) => r.reporter === "outbound").reduce((n, r) => n + Number(r.requests), 0) >= 20
        );
      })
      .toBe(true);
    const reviews = await edge("productpage", "reviews");
    expect(new Set(reviews.map((r) => r.destVersion))).toEqual(new Set(["v1"]));
    for (const r of reviews) expect(r.mtlsRequests).toBe(r.requests);
    await expect.poll(async () => (await edge("ingress", "productpage")).length).toBeGreaterThan(0);
    await expect.poll(async () => (await edge("productpage", "details")).length).toBeGreaterThan(0);
    // Reviews do not call ratings while v1 gets all reviews traffic (the feed does, over gRPC).
    expect(await edge("reviews", "ratings")).toEqual([]);
  });

  it("shows ratings (red stars from v3) once a Route sends reviews there", async () => {
    await db.resource.update({
      where: { kind_namespace_name: { kind: "Route", namespace: DEMO_NAMESPACE, name: "reviews" } },
      data: {
        spec: { service: "reviews", rules: [{ backends: [{ version: "v3" }] }] },
        revision: { increment: 1 },
      },
    });
    await cp.refresh();
    await expect.poll(async () => (await get(`${demo.ingressUrl}/`)).reviews).toBe("reviews-v3");
    const page = (await get(`${demo.ingressUrl}/`)).body;
    expect(page).toContain('aria-label="5 of 5 stars, red"');
    expect(page).toContain('aria-label="4 of 5 stars, red"');
    // v3 asks ratings over gRPC.
    await expect
      .poll(async () =>
        (await edge("reviews", "ratings")).filter((r) => r.sourceVersion === "v3").map((r) => r.protocol),
      )
      .toContain("grpc");
  });

  it("traces a front-page request across every hop, productpage's own OpenTelemetry span among the sidecars'", async () => {
    // Reviews go to v3 (the test above): productpage → details, and → reviews → ratings over gRPC.
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const page = await get(`${demo.ingressUrl}/`, { traceparent: `00-${traceId}-b7ad6b7169203331-01` });
    expect(page.reviews).toBe("reviews-v3");
    const hops = (t: Awaited<ReturnType<typeof getTrace>>) =>
      t.spans.map((s) => `${s.service} ${s.origin} ${s.kind}`).sort();
    let trace = await getTrace(db, SYSTEM_ACTOR, { traceId }).catch(() => null);
    await expect
      .poll(
        async () => {
          trace = await getTrace(db, SYSTEM_ACTOR, { traceId }).catch(() => null);
          return trace ? hops(trace) : [];
        },
        { timeout: 15_000 },
      )
      .toEqual([
        "details proxy server",
        "ingress proxy client",
        "productpage app server",
        "productpage proxy client",
        "productpage proxy client",
        "productpage proxy server",
        "ratings proxy server",
        "reviews proxy client",
        "reviews proxy server",
      ]);
    // One tree: every span's parent is in the trace but the ingress's, whose parent is the browser's.
    const spans = trace!.spans;
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const parentOf = (service: string, origin: string, kind: string) =>
      byId.get(
        spans.find((s) => s.service === service && s.origin === origin && s.kind === kind)!.parentSpanId!,
      );
    expect(spans.find((s) => s.service === "ingress")!.parentSpanId).toBe("b7ad6b7169203331");
    expect(parentOf("productpage", "app", "server")).toMatchObject({
      service: "productpage",
      origin: "proxy",
      kind: "server",
    });
    expect(parentOf("ratings", "proxy", "server")).toMatchObject({ service: "reviews", kind: "client" });
    expect(spans.find((s) => s.service === "ratings")!.attributes["rpc.system"]).toBe("grpc");
    // The app's calls are children of its own span: it forwarded the context the SDK gave it.
    for (const call of spans.filter((s) => s.service === "productpage" && s.kind === "client"))
      expect(byId.get(call.parentSpanId!)).toMatchObject({ origin: "app", name: "render product page" });
  });

  it("shows black stars from v2, which asks the h2c ratings app over HTTP/1.1", async () => {
    await db.resource.update({
      where: { kind_namespace_name: { kind: "Route", namespace: DEMO_NAMESPACE, name: "reviews" } },
      data: {
        spec: { service: "reviews", rules: [{ backends: [{ version: "v2" }] }] },
        revision: { increment: 1 },
      },
    });
    await cp.refresh();
    await expect.poll(async () => (await get(`${demo.ingressUrl}/`)).reviews).toBe("reviews-v2");
    const page = (await get(`${demo.ingressUrl}/`)).body;
    expect(page).toContain('aria-label="5 of 5 stars, black"');
    await expect
      .poll(async () => {
        const rows = (await edge("reviews", "ratings")).filter((r) => r.sourceVersion === "v2");
        return [...new Set(rows.map((r) => `${r.protocol} ${r.statusCode}`))];
      })
      .toEqual(["http1 200"]);
  });

  it("stops cleanly: the ingress no longer answers", async () => {
    const target = demo.ingressUrl;
    await demo.stop();
    expect((await get(target)).status).toBe(0);
  });
});
