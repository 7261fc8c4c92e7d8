// The first canary, as the README will walk a newcomer through it: a real mesh (web calling reviews v1 and
// v2, each app beside its own `trellis proxy`) routes every call to v1; an editor proposes 90/10 in the
// console, sees what it would do, and cannot approve it herself; an approver approves; the change page shows
// the new config reaching every proxy; real calls through web's sidecar then split about 90/10; a rollback,
// itself reviewed, sends everything back to v1.
import { expect, test, type APIRequestContext } from "@playwright/test";
import { ADMIN_TOKEN, signIn, tokenOf, ensureUsers, joinToken } from "./fixtures";
import { app, call, Workloads, type Sidecar } from "./mesh-helpers";

const NS = "e2e-canary";
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const PASSWORD = "e2e-canary-password-0123";
const EDITOR = "cleo";
const APPROVER = "arne";
const PROXIES = 3; // web v1, reviews v1, reviews v2

const route = (backends: string) => `apiVersion: trellis.dev/v1alpha1
kind: Route
metadata: { name: reviews, namespace: ${NS} }
spec:
  service: reviews
  rules:
    - backends: ${backends}
`;
const ALL_V1 = route("[{ version: v1, weight: 100 }]");
const CANARY = route("[{ version: v1, weight: 90 }, { version: v2, weight: 10 }]");

const mesh = new Workloads();
let web: Sidecar;

/** Waits (through the REST API) until the change's config generation is acked by every proxy of the mesh. */
async function untilAcked(request: APIRequestContext, changeId: string) {
  await expect
    .poll(
      async () => {
        const res = await request.get(`/api/v1/changes/${changeId}/rollout`, { headers: admin });
        const r = (await res.json()) as { state: string; acked: number; total: number };
        return `${r.state} ${r.acked}/${r.total}`;
      },
      { timeout: 60_000 },
    )
    .toBe(`complete ${PROXIES}/${PROXIES}`);
}

/** Every call web made to reviews in this file, by answer: what the graph must show. */
const made: Record<string, number> = {};

/** One call from web to reviews through web's sidecar: the version that answered, or the status. */
async function one(): Promise<string> {
  const r = await call(web.outbound, "reviews");
  const key = r.status === 200 ? r.body : `status ${r.status}`;
  made[key] = (made[key] ?? 0) + 1;
  return key;
}

/** `n` calls, one after another, counted by answer. */
async function calls(n: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const key = await one();
    seen[key] = (seen[key] ?? 0) + 1;
  }
  return seen;
}

test.beforeAll(async ({ request }) => {
  test.setTimeout(240_000);
  await ensureUsers(request, NS, PASSWORD, [
    [EDITOR, "editor"],
    [APPROVER, "approver"],
  ]);
  const token = await joinToken(request, NS);
  await mesh.add(NS, "reviews", await app("reviews-v1"), token, { version: "v1" });
  await mesh.add(NS, "reviews", await app("reviews-v2"), token, { version: "v2" });
  web = await mesh.add(NS, "web", await app("web"), token, { version: "v1" });
  await mesh.joined(30_000);

  // The starting point of the demo: a Route sending everything to v1, applied the reviewed way. No call goes
  // to reviews before it is in force, so the impact preview later sees v1 take all of the recorded traffic.
  const proposed = await request.post("/api/v1/changes", {
    headers: admin,
    data: { title: "All reviews traffic to v1", yaml: ALL_V1 },
  });
  expect(proposed.status(), await proposed.text()).toBe(200);
  const initial = (await proposed.json()) as { id: string };
  const approved = await request.post(`/api/v1/changes/${initial.id}/approve`, {
    headers: await tokenOf(request, APPROVER, PASSWORD, "e2e-canary"),
    data: { comment: "Start from v1" },
  });
  expect(approved.status(), await approved.text()).toBe(200);
  expect(((await approved.json()) as { status: string }).status).toBe("applied");
  await untilAcked(request, initial.id);
  // Acked by web's sidecar; the endpoints of reviews may reach it a moment later than its own config.
  await expect.poll(one).toBe("reviews-v1");
  expect(await calls(50)).toEqual({ "reviews-v1": 50 });

  // The impact preview reads the last hour of complete minutes of telemetry (the sidecars report every 10 s):
  // wait until the calls above are in it, so the preview has traffic to split.
  await expect
    .poll(
      async () => {
        const res = await request.post("/api/v1/changes/preview", { headers: admin, data: { yaml: CANARY } });
        expect(res.status(), await res.text()).toBe(200);
        const { impact } = (await res.json()) as {
          impact: { routes: { versions: { version: string; observedShare: number }[] }[] };
        };
        return impact.routes[0]?.versions.find((v) => v.version === "v1")?.observedShare ?? 0;
      },
      { timeout: 120_000, intervals: [2000] },
    )
    .toBe(1);
});

test.afterAll(() => mesh.stop());

test("canary: propose 90/10, approve as someone else, watch it reach the proxies, split, roll back", async ({
  browser,
  request,
}) => {
  test.setTimeout(240_000);

  // --- The editor proposes the canary in the console and previews it.
  const cleo = await signIn(browser, EDITOR, PASSWORD);
  await cleo.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Changes" }).click();
  await cleo.getByRole("link", { name: "New change" }).click();
  await cleo.getByLabel("Title").fill("Canary: 10% of reviews to v2");
  await cleo.getByLabel("Description").fill("v2 passed staging; watch its error rate before going further");
  // The editor opens on its form; a reviewer pasting YAML picks the YAML view.
  await cleo.getByRole("tab", { name: "YAML" }).click();
  await cleo.getByLabel(/Resources \(YAML/).fill(CANARY);
  await cleo.getByRole("button", { name: "Preview" }).click();
  const preview = cleo.getByRole("region", { name: "Preview" });
  await expect(preview.getByText("valid", { exact: true })).toBeVisible();
  // An update of the Route in force, not a second Route: the diff shows the weights moving.
  await expect(preview.getByRole("heading", { name: `update Route ${NS}/reviews` })).toBeVisible();
  await expect(preview.getByRole("table", { name: `Diff of Route ${NS}/reviews` })).toContainText(
    "weight: 10",
  );
  // The impact, from the calls recorded above: all of reviews' traffic goes to v1 now, 10% of it will go to v2.
  const impact = preview.getByRole("region", { name: "Impact preview" });
  await expect(impact).toContainText(new RegExp(`sends 90% of [0-9.]+ req/s to ${NS}/reviews v1, 10% of`));
  const split = impact.getByRole("table", { name: `Traffic split for ${NS}/reviews` });
  await expect(split.getByRole("row", { name: /^v1 / })).toContainText(/^v1\s*100%\s*90%/);
  await expect(split.getByRole("row", { name: /^v2 / })).toContainText(/^v2\s*0%\s*10%/);
  await cleo.getByRole("button", { name: "Open change request" }).click();

  await expect(cleo).toHaveURL(/\/changes\/\d+$/);
  const canaryUrl = cleo.url();
  await expect(cleo.getByRole("heading", { level: 1 })).toContainText("Canary: 10% of reviews to v2");
  await expect(cleo.getByText("Open", { exact: true })).toBeVisible();
  // Not hers to approve: the page says so and offers no Approve, and her own token is refused.
  await expect(cleo.getByText("someone else must approve it")).toBeVisible();
  await expect(cleo.getByRole("button", { name: "Approve" })).toHaveCount(0);
  // The API takes a change's number where it takes its id.
  const number = canaryUrl.split("/").at(-1)!;
  const self = await request.post(`/api/v1/changes/${number}/approve`, {
    headers: await tokenOf(request, EDITOR, PASSWORD, "e2e-canary"),
    data: {},
  });
  expect(self.status()).toBe(403);
  expect(await self.json()).toMatchObject({ code: "CHANGE_SELF_APPROVAL" });
  expect(await calls(20)).toEqual({ "reviews-v1": 20 });

  // --- The approver, in a browser of her own, approves with a comment; the rollout reaches every proxy.
  const arne = await signIn(browser, APPROVER, PASSWORD);
  await arne.goto(canaryUrl);
  await arne.getByLabel("Comment").fill("10% is a safe start");
  await arne.getByRole("button", { name: "Approve" }).click();
  await expect(arne.getByText("Applied", { exact: true })).toBeVisible();
  await expect(arne.getByRole("region", { name: "Approvals" })).toContainText(`${APPROVER} approved`);
  await expect(arne.getByRole("region", { name: "Approvals" })).toContainText("10% is a safe start");
  const rollout = arne.getByRole("region", { name: "Rollout" });
  await expect(rollout.getByRole("status")).toHaveText(
    new RegExp(`^Generation \\d+: applied on ${PROXIES}/${PROXIES} proxies\\.$`),
    { timeout: 60_000 },
  );
  await expect(rollout.getByRole("table", { name: "Proxies" }).getByRole("row")).toHaveCount(PROXIES + 1);
  await expect(rollout.getByText("acked", { exact: true })).toHaveCount(PROXIES);
  await arne.screenshot({ path: "test-results/canary-rollout.png", fullPage: true });
  await arne.getByRole("region", { name: "Changes to resources" }).screenshot({
    path: "test-results/canary-diff.png",
  });

  // --- Real traffic splits. Each call picks v2 with probability 0.1, independently, so the v2 count of 400
  // calls is Binomial(400, 0.1): mean 40, sd 6. Outside 16..72 (4%..18%) has probability about 3e-6, so the
  // bound fails only if the split is wrong (all to v1, 50/50, or weights swapped), not by bad luck.
  const canary = await calls(400);
  expect(Object.keys(canary).sort(), JSON.stringify(canary)).toEqual(["reviews-v1", "reviews-v2"]);
  const v2 = canary["reviews-v2"]!;
  expect(v2 / 400, JSON.stringify(canary)).toBeGreaterThanOrEqual(0.04);
  expect(v2 / 400, JSON.stringify(canary)).toBeLessThanOrEqual(0.18);

  // --- The graph shows the split. Its window also holds the calls made before the canary, all to v1, so the
  // share it shows for v2 is that of every call this file made (about 40 of 470), within telemetry's rounding.
  await arne.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Graph" }).click();
  await arne.getByLabel("Namespace").selectOption(NS);
  await arne.getByRole("combobox", { name: "Window" }).selectOption("15");
  await arne.getByLabel("Nodes").selectOption("split");
  await arne.getByLabel("Edge labels").selectOption("share");
  const expected = (made["reviews-v2"]! / (made["reviews-v1"]! + made["reviews-v2"]!)) * 100;
  const toV2 = arne.getByRole("button", {
    name: new RegExp(`^Calls from ${NS}/web/v1 to ${NS}/reviews/v2: `),
  });
  // The sidecars report every 10 s and the graph polls every 5 s: the share settles once both have happened.
  await expect
    .poll(
      async () => {
        const label = await toV2.textContent({ timeout: 5_000 }).catch(() => null); // no edge to v2 yet
        return Math.abs(Number.parseFloat(label ?? "NaN") - expected);
      },
      {
        timeout: 45_000,
        message: `v2's share of web's calls on the graph, against ${expected.toFixed(2)}% made`,
      },
    )
    .toBeLessThanOrEqual(1);
  await expect(
    arne.getByRole("button", { name: new RegExp(`^Calls from ${NS}/web/v1 to ${NS}/reviews/v1: `) }),
  ).toBeVisible();
  await arne.screenshot({ path: "test-results/canary-graph.png" });

  // --- Rollback: the editor proposes it from the canary's page, the approver approves it.
  await cleo.reload();
  await expect(cleo.getByText("Applied", { exact: true })).toBeVisible();
  await cleo.getByText("Roll back this change").click();
  await cleo.getByRole("button", { name: "Propose rollback" }).click();
  await expect(cleo.getByRole("heading", { level: 1 })).toContainText("Roll back");
  await expect(cleo).not.toHaveURL(canaryUrl);
  const rollbackUrl = cleo.url();
  await expect(cleo.getByRole("table", { name: `Diff of Route ${NS}/reviews` })).toContainText("weight: 100");
  await expect(cleo.getByRole("button", { name: "Approve" })).toHaveCount(0);

  await arne.goto(rollbackUrl);
  await arne.getByLabel("Comment").fill("Back to v1");
  await arne.getByRole("button", { name: "Approve" }).click();
  await expect(arne.getByText("Applied", { exact: true })).toBeVisible();
  await expect(arne.getByRole("region", { name: "Rollout" }).getByRole("status")).toHaveText(
    new RegExp(`^Generation \\d+: applied on ${PROXIES}/${PROXIES} proxies\\.$`),
    { timeout: 60_000 },
  );
  expect(await calls(100)).toEqual({ "reviews-v1": 100 });

  // The canary's page links the rollback that undid it.
  await arne.goto(canaryUrl);
  await expect(arne.getByRole("link", { name: `#${rollbackUrl.split("/").at(-1)}` })).toBeVisible();
});
