// Journey 2 of the demo issue, fault and resilience: a front page calls reviews, reviews calls ratings, each
// beside a real `trellis proxy`. One change request, proposed and approved by two users with their API tokens,
// injects 503s into half the calls to ratings and gives the reviews route retries. The front page still sees
// more than 99% successes, and the graph shows the injected errors on the reviews → ratings edge.
//
// Where the retries sit matters. A Route's fault and its retries are enforced by the *caller's* sidecar, in one
// stack per route with the fault outermost (dataplane config/snapshot.ts, as Envoy's fault filter before its
// router): retries on the ratings Route itself would never see the injected abort. So the fault is on ratings
// (enforced in reviews' sidecar), reviews answers 503 when ratings fails (it retries nothing itself), and the
// retries are on the reviews Route (enforced in the front page's sidecar): each try is a new call to reviews
// and so a new 50% draw at ratings. With 10 retries a call fails only when 11 draws in a row fail, 0.05%.
import { expect, test } from "@playwright/test";
import { ADMIN_PASSWORD, ADMIN_TOKEN, tokenOf, ensureUsers, joinToken, signInOn } from "./fixtures";
import { app, call, relayApp, Workloads } from "./mesh-helpers";

const NS = "e2e-resilience";
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const PASSWORD = "e2e-resilience-password-0123";
const CALLS = 300;

const CHANGE = `apiVersion: trellis.dev/v1alpha1
kind: Route
metadata: { namespace: ${NS}, name: ratings }
spec:
  service: ratings
  rules:
    - name: inject-503
      fault: { abort: { percent: 50, status: 503 } }
---
apiVersion: trellis.dev/v1alpha1
kind: Route
metadata: { namespace: ${NS}, name: reviews }
spec:
  service: reviews
  rules:
    - name: retry-5xx
      retries: { attempts: 10, retryOn: [5xx], backoff: { base: 5ms, max: 50ms } }
`;

interface GraphEdge {
  source: string;
  target: string;
  rps: number;
  errorRate: number;
}

const mesh = new Workloads();

test.afterAll(() => mesh.stop());

test("50% 503s injected into ratings: retries on the reviews route keep the front page above 99%, and the graph shows the errors", async ({
  page,
  request,
}) => {
  test.setTimeout(300_000);
  await ensureUsers(request, NS, PASSWORD, [
    ["rhea", "editor"],
    ["otis", "approver"],
  ]);
  const token = await joinToken(request, NS);

  let reviewsOutbound = 0;
  await mesh.add(NS, "ratings", await app("ratings-v1"), token);
  const reviewsApp = await relayApp("reviews-v1", "ratings", () => reviewsOutbound);
  reviewsOutbound = (await mesh.add(NS, "reviews", reviewsApp, token)).outbound;
  const front = await mesh.add(NS, "front", await app("front page"), token);
  await mesh.joined();
  // The whole chain answers before any policy: front → reviews → ratings. Until reviews' sidecar has learnt
  // of ratings these warm-up calls fail, and the graph's window below still holds them: count them.
  let warmUpFailures = 0;
  await expect
    .poll(
      async () => {
        const r = await call(front.outbound, "reviews");
        if (r.status !== 200) warmUpFailures++;
        return r.body;
      },
      { timeout: 60_000 },
    )
    .toBe("reviews-v1 <- ratings-v1");

  // Proposed by the editor, approved by the approver, both with their own tokens.
  const rhea = await tokenOf(request, "rhea", PASSWORD, "e2e-resilience");
  const otis = await tokenOf(request, "otis", PASSWORD, "e2e-resilience");
  const proposed = await request.post("/api/v1/changes", {
    headers: rhea,
    data: { title: "Inject 50% 503s into ratings; retry 5xx on reviews", yaml: CHANGE },
  });
  expect(proposed.status(), await proposed.text()).toBe(200);
  const change = (await proposed.json()) as { id: string; validation: { valid: boolean } };
  expect(change.validation.valid).toBe(true);
  const approved = await request.post(`/api/v1/changes/${change.id}/approve`, {
    headers: otis,
    data: { comment: "chaos drill" },
  });
  expect(approved.status(), await approved.text()).toBe(200);
  expect(((await approved.json()) as { status: string }).status).toBe("applied");
  // Every proxy of the namespace put the generation in force (the callers enforce both Routes).
  await expect
    .poll(
      async () => {
        const r = await request.get(`/api/v1/changes/${change.id}/rollout`, { headers: rhea });
        const ro = (await r.json()) as { proxies: { namespace: string; service: string; state: string }[] };
        return ro.proxies
          .filter((p) => p.namespace === NS)
          .map((p) => `${p.service} ${p.state}`)
          .sort();
      },
      { timeout: 60_000 },
    )
    .toEqual(["front acked", "ratings acked", "reviews acked"]);

  // The front page's traffic, one call at a time (the retry budget, 20% of requests in flight but at least 3
  // retries, never binds for sequential calls).
  const statuses = new Map<number, number>();
  for (let i = 0; i < CALLS; i++) {
    const { status } = await call(front.outbound, "reviews");
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
  const ok = statuses.get(200) ?? 0;
  expect(ok / CALLS, `statuses seen by the front page: ${JSON.stringify([...statuses])}`).toBeGreaterThan(
    0.99,
  );

  // The faults were real: the front page's sidecar retried about once per call (half of all tries fail).
  const metrics = await (await fetch(`http://127.0.0.1:${front.admin}/stats/prometheus`)).text();
  const retries = Number(
    /trellis_retries_total\{destination_namespace="e2e-resilience",destination_service="reviews",destination_port="\d+"\} (\d+)/.exec(
      metrics,
    )?.[1] ?? 0,
  );
  expect(retries).toBeGreaterThan(CALLS * 0.6);
  expect(retries).toBeLessThan(CALLS * 1.6);

  // The graph (GET /api/v1/graph): the reviews → ratings edge carries the injected 503s, about half its calls;
  // the front page's edge to reviews is clean. Sidecars report every 10 s into per-minute rollups, so wait
  // until the window holds the ratings edge's ~2 calls per front-page call.
  const edgeOf = (edges: GraphEdge[], from: string, to: string) =>
    edges.find((e) => e.source === `${NS}/${from}` && e.target === `${NS}/${to}`);
  await expect
    .poll(
      async () => {
        const r = await request.get(`/api/v1/graph?namespace=${NS}&window=5m`, { headers: admin });
        const g = (await r.json()) as { from: string; end: string; edges: GraphEdge[] };
        const seconds = (Date.parse(g.end) - Date.parse(g.from)) / 1000;
        const ratings = edgeOf(g.edges, "reviews", "ratings");
        return (ratings?.rps ?? 0) * seconds;
      },
      { timeout: 60_000, intervals: [2000] },
    )
    .toBeGreaterThan(CALLS * 1.6);
  const graph = (await (
    await request.get(`/api/v1/graph?namespace=${NS}&window=5m`, { headers: admin })
  ).json()) as { from: string; end: string; edges: GraphEdge[] };
  const ratingsEdge = edgeOf(graph.edges, "reviews", "ratings")!;
  expect(ratingsEdge.errorRate).toBeGreaterThan(0.35);
  expect(ratingsEdge.errorRate).toBeLessThan(0.65);
  // The front page's edge: at most the warm-up's failures plus 1% of the drill's calls.
  const frontEdge = edgeOf(graph.edges, "front", "reviews")!;
  const windowSeconds = (Date.parse(graph.end) - Date.parse(graph.from)) / 1000;
  const frontErrors = Math.round(frontEdge.errorRate * frontEdge.rps * windowSeconds);
  expect(frontErrors, `warm-up failures: ${warmUpFailures}`).toBeLessThanOrEqual(
    warmUpFailures + CALLS * 0.01,
  );

  // And the console's graph says the same, in Chromium.
  await signInOn(page, "admin", ADMIN_PASSWORD);
  await page.getByRole("link", { name: "Graph" }).click();
  await expect(page.getByRole("heading", { name: "Service graph" })).toBeVisible();
  await page.getByLabel("Namespace").selectOption(NS);
  await page.getByLabel("Edge labels").selectOption("errors");
  const ratingsLabel = page.getByRole("button", {
    name: new RegExp(`^Calls from ${NS}/reviews to ${NS}/ratings: [0-9.]+% 5xx, mutual TLS$`),
  });
  await expect(ratingsLabel).toBeVisible();
  const shown = Number.parseFloat((await ratingsLabel.getAttribute("aria-label"))!.split(": ")[1]!);
  expect(shown).toBeGreaterThan(35);
  expect(shown).toBeLessThan(65);
  await expect(
    page.getByRole("button", {
      name: new RegExp(`^ratings [0-9.<]+ req/s · [0-9.<]+% 5xx[^,]*, service in ${NS}, failing$`),
    }),
  ).toBeVisible();
  const frontLabel = page.getByRole("button", {
    name: new RegExp(`^Calls from ${NS}/front to ${NS}/reviews: [0-9.<]+% 5xx, mutual TLS$`),
  });
  await expect(frontLabel).toBeVisible();
  await page.screenshot({ path: "test-results/resilience-graph.png" });
});
