// Journey 3 of the demo issue, access control: ratings is called by reviews and by web, each beside a real
// `trellis proxy`. An editor proposes an AccessPolicy that lets only reviews call ratings; the impact preview,
// computed from the calls web really made, says web would have been denied; an approver sees that on the
// change's page and approves it there. Then web gets 403 from ratings' sidecar while reviews still gets 200,
// and the audit log names the approver.
import { expect, test } from "@playwright/test";
import { ADMIN_PASSWORD, ADMIN_TOKEN, signIn, tokenOf, ensureUsers, joinToken } from "./fixtures";
import { app, call, Workloads } from "./mesh-helpers";

const NS = "e2e-access";
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const PASSWORD = "e2e-access-password-0123";
const EDITOR = "alba";
const APPROVER = "amos";
const TITLE = "Only reviews may call ratings";
const POLICY = `apiVersion: trellis.dev/v1alpha1
kind: AccessPolicy
metadata: { namespace: ${NS}, name: ratings-callers }
spec:
  service: ratings
  allow:
    - from: [{ service: reviews }]
`;

interface AccessImpact {
  source: { namespace: string; service: string };
  before: string;
  after: string;
  requestsPerMinute: number;
  summary: string;
}

const mesh = new Workloads();

test.afterAll(() => mesh.stop());

test("an AccessPolicy lets only reviews call ratings: predicted, approved by another user, enforced, audited", async ({
  browser,
  request,
}) => {
  // The preview reads complete minutes of telemetry only: up to a minute and a report interval of waiting.
  test.setTimeout(300_000);
  await ensureUsers(request, NS, PASSWORD, [
    [EDITOR, "editor"],
    [APPROVER, "approver"],
  ]);
  const token = await joinToken(request, NS);

  await mesh.add(NS, "ratings", await app("ratings-v1"), token);
  const reviews = await mesh.add(NS, "reviews", await app("reviews-v1"), token);
  const web = await mesh.add(NS, "web", await app("web-v1"), token);
  await mesh.joined();

  // Both callers reach ratings before the policy, and their calls are recorded.
  for (const caller of [reviews, web])
    await expect
      .poll(async () => (await call(caller.outbound, "ratings")).status, { timeout: 60_000 })
      .toBe(200);
  for (let i = 0; i < 30; i++) {
    expect((await call(web.outbound, "ratings")).status).toBe(200);
    expect((await call(reviews.outbound, "ratings")).status).toBe(200);
  }

  // The preview predicts the denial from that traffic once its minute is complete and reported.
  const editor = await tokenOf(request, EDITOR, PASSWORD, "e2e-access");
  let predicted: AccessImpact[] = [];
  await expect
    .poll(
      async () => {
        const res = await request.post("/api/v1/changes/preview", {
          headers: editor,
          data: { yaml: POLICY },
        });
        expect(res.status(), await res.text()).toBe(200);
        predicted = ((await res.json()) as { impact: { access: AccessImpact[] } }).impact.access;
        return predicted.map((a) => `${a.source.namespace}/${a.source.service} ${a.before}→${a.after}`);
      },
      { timeout: 150_000, intervals: [5000] },
    )
    .toEqual([`${NS}/web allowed→denied`]);
  // reviews keeps its access, so it is not listed; web's rate is its recorded calls over the hour.
  expect(predicted[0]!.requestsPerMinute).toBeGreaterThan(0);
  expect(predicted[0]!.summary).toMatch(
    new RegExp(`^would have denied [0-9.,]+ requests/min from ${NS}/web to ${NS}/ratings$`),
  );

  const proposed = await request.post("/api/v1/changes", {
    headers: editor,
    data: { title: TITLE, yaml: POLICY },
  });
  expect(proposed.status(), await proposed.text()).toBe(200);
  const change = (await proposed.json()) as { id: string; number: number };

  // The approver reads the prediction on the change's page and approves it there.
  const amos = await signIn(browser, APPROVER, PASSWORD);
  await amos.goto(`/changes/${change.number}`);
  await expect(amos.getByRole("heading", { level: 1 })).toContainText(TITLE);
  const impact = amos.getByRole("region", { name: "Impact preview" });
  await expect(impact.getByRole("listitem").filter({ hasText: "would have denied" })).toHaveText(
    predicted[0]!.summary,
  );
  await amos.getByLabel("Comment").fill("web has no business with ratings");
  await amos.getByRole("button", { name: "Approve" }).click();
  await expect(amos.getByText("Applied", { exact: true })).toBeVisible();
  await expect(amos.getByRole("region", { name: "Approvals" })).toContainText(`${APPROVER} approved`);

  // ratings' own sidecar enforces it (AccessPolicies are inbound): its proxy must have acked the generation.
  await expect
    .poll(
      async () => {
        const r = await request.get(`/api/v1/changes/${change.id}/rollout`, { headers: editor });
        const ro = (await r.json()) as { proxies: { namespace: string; service: string; state: string }[] };
        return ro.proxies.find((p) => p.namespace === NS && p.service === "ratings")?.state;
      },
      { timeout: 60_000 },
    )
    .toBe("acked");
  const denied = await call(web.outbound, "ratings");
  expect(denied.status, denied.body).toBe(403);
  expect(denied.body).toContain("DP_FORBIDDEN");
  for (let i = 0; i < 10; i++) {
    const allowed = await call(reviews.outbound, "ratings");
    expect(allowed.status, allowed.body).toBe(200);
    expect(allowed.body).toBe("ratings-v1");
  }
  // Denial is by caller, not a broken ratings: web is refused every time.
  for (let i = 0; i < 10; i++) expect((await call(web.outbound, "ratings")).status).toBe(403);

  // The audit log names who approved it: through the API, and on the console's Audit log page.
  const audit = await request.get(`/api/v1/audit?action=change.approve&namespace=${NS}`, { headers: admin });
  expect(audit.status(), await audit.text()).toBe(200);
  const events = ((await audit.json()) as { items: { actorName: string; targetId: string; via: string }[] })
    .items;
  expect(events.filter((e) => e.targetId === change.id)).toEqual([
    expect.objectContaining({ actorName: APPROVER, via: "console" }),
  ]);

  const page = await signIn(browser, "admin", ADMIN_PASSWORD);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click();
  const filters = page.getByRole("form", { name: "Filter the audit log" });
  await filters.getByLabel("Namespace").fill(NS);
  await filters.getByLabel("Action").fill("change");
  await filters.getByRole("button", { name: "Apply filters" }).click();
  const rows = page
    .getByRole("table", { name: "Audit log" })
    .getByRole("row")
    .filter({ has: page.getByRole("button", { name: /^Details of event/ }) });
  const approval = rows.filter({ hasText: "change.approve" });
  await expect(approval).toHaveCount(1);
  await expect(approval).toContainText(APPROVER);
  await expect(approval).toContainText("user via console");
  await expect(rows.filter({ hasText: "change.create" })).toContainText(EDITOR);
  await page.screenshot({ path: "test-results/access-audit.png" });
});
