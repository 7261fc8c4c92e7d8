// The heart of the console: an editor proposes a traffic change, sees it validated and previewed, cannot
// approve it herself; an approver approves it, it is applied as a new config generation, the resource has a
// revision linked to the change, and an applied change can be rolled back through another change request.
import { expect, test } from "@playwright/test";
import { ADMIN_TOKEN, signIn } from "./fixtures";

const NS = "e2e-changes";
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const PASSWORD = "e2e-change-password-0123";

const POLICY = `apiVersion: trellis.dev/v1alpha1
kind: DestinationPolicy
metadata:
  namespace: ${NS}
  name: reviews
spec:
  service: reviews
  loadBalancer: { type: leastRequest }
`;

// The second test starts from the resource the first one applied.
test.describe.configure({ mode: "serial" });

test.beforeAll(async ({ request }) => {
  for (const [name, role] of [
    ["erin", "editor"],
    ["abe", "approver"],
  ] as const) {
    const res = await request.post("/api/v1/users", {
      headers: auth,
      data: { name, password: PASSWORD, bindings: [{ role, namespace: NS }] },
    });
    // 409: made by an earlier attempt of this file in the same run.
    expect([200, 409], await res.text()).toContain(res.status());
  }
});

test("propose, preview, approve by someone else, apply, and roll back", async ({ browser }) => {
  const erin = await signIn(browser, "erin", PASSWORD);
  await erin.getByRole("link", { name: "Changes" }).click();
  await erin.getByRole("link", { name: "New change" }).click();
  await erin.getByLabel("Title").fill("Least-request balancing for reviews");
  await erin.getByRole("tab", { name: "YAML" }).click();
  await erin.getByLabel(/Resources \(YAML/).fill("kind: Route\nspec: [not, a, route");
  await erin.getByRole("button", { name: "Preview" }).click();
  await expect(erin.getByRole("alert").filter({ hasText: "YAML:" })).toBeVisible();

  await erin.getByLabel(/Resources \(YAML/).fill(POLICY.replace("leastRequest", "fastest"));
  await erin.getByRole("button", { name: "Preview" }).click();
  // The server's schema names the field that is wrong.
  await expect(erin.getByText(/loadBalancer/).first()).toBeVisible();

  await erin.getByLabel(/Resources \(YAML/).fill(POLICY);
  await erin.getByRole("button", { name: "Preview" }).click();
  const preview = erin.getByRole("region", { name: "Preview" });
  await expect(preview.getByText("valid", { exact: true })).toBeVisible();
  await expect(preview.getByRole("table", { name: `Diff of DestinationPolicy ${NS}/reviews` })).toContainText(
    "leastRequest",
  );
  await erin.getByRole("button", { name: "Open change request" }).click();

  await expect(erin).toHaveURL(/\/changes\/\d+$/);
  const url = erin.url();
  await expect(erin.getByRole("heading", { level: 1 })).toContainText("Least-request balancing for reviews");
  await expect(erin.getByText("Open", { exact: true })).toBeVisible();
  // The author cannot approve her own change: no button, and the API refuses too.
  await expect(erin.getByRole("button", { name: "Approve" })).toHaveCount(0);
  await expect(erin.getByText("someone else must approve it")).toBeVisible();

  const abe = await signIn(browser, "abe", PASSWORD);
  await abe.goto(url);
  await abe.getByLabel("Comment").fill("Looks right");
  await abe.getByRole("button", { name: "Approve" }).click();
  await expect(abe.getByText("Applied", { exact: true })).toBeVisible();
  await expect(abe.getByRole("region", { name: "Approvals" })).toContainText("abe approved");
  await expect(abe.getByRole("region", { name: "Rollout" })).toContainText(/Generation \d+/);

  // The resource now exists, at revision 1, written by this change.
  await abe.getByRole("link", { name: `${NS}/reviews` }).click();
  await expect(abe.getByRole("table", { name: "Revision history" })).toContainText("Least-request balancing");

  // Roll it back: a new change request, which erin may approve since abe proposes it.
  await abe.goto(url);
  await abe.getByText("Roll back this change").click();
  await abe.getByRole("button", { name: "Propose rollback" }).click();
  await expect(abe.getByRole("heading", { level: 1 })).toContainText("Roll back");
  const rollbackUrl = abe.url();
  expect(rollbackUrl).not.toBe(url);
  await expect(abe.getByRole("table", { name: `Diff of DestinationPolicy ${NS}/reviews` })).toContainText(
    "leastRequest",
  );
});

test("nobody approves their own change, and a stale change is never applied over newer state", async ({
  request,
  browser,
}) => {
  // Two changes to the same resource from the same base: the first applied makes the second stale.
  const base = await request.get(`/api/v1/resources/DestinationPolicy/${NS}/reviews`, { headers: auth });
  expect(base.status(), await base.text()).toBe(200);
  const rev = ((await base.json()) as { revision: number }).revision;
  const propose = async (lb: string) => {
    const res = await request.post("/api/v1/changes", {
      headers: auth,
      data: {
        title: `lb ${lb}`,
        operations: [
          {
            action: "update",
            baseRevision: rev,
            resource: {
              apiVersion: "trellis.dev/v1alpha1",
              kind: "DestinationPolicy",
              metadata: { namespace: NS, name: "reviews" },
              spec: { service: "reviews", loadBalancer: { type: lb } },
            },
          },
        ],
      },
    });
    expect(res.status(), await res.text()).toBe(200);
    return (await res.json()) as { id: string; number: number };
  };
  const first = await propose("roundRobin");
  const second = await propose("leastRequest");
  // The admin authored both: even an admin's approval must come from someone else.
  const self = await request.post(`/api/v1/changes/${first.id}/approve`, { headers: auth, data: {} });
  expect(self.status()).toBe(403);
  expect(await self.json()).toMatchObject({ code: "CHANGE_SELF_APPROVAL" });

  const abe = await signIn(browser, "abe", PASSWORD);
  await abe.goto(`/changes/${first.number}`);
  await abe.getByRole("button", { name: "Approve" }).click();
  await expect(abe.getByText("Applied", { exact: true })).toBeVisible();

  // Applying the first made the second stale at once: it offers a rebase, not an approval.
  await abe.goto(`/changes/${second.number}`);
  await expect(abe.getByText("Stale", { exact: true })).toBeVisible();
  await expect(abe.getByRole("button", { name: "Approve" })).toHaveCount(0);
  await expect(abe.getByRole("button", { name: "Rebase" })).toBeVisible();
  await expect(abe.getByRole("alert").filter({ hasText: "changed by someone else" })).toBeVisible();
  const now = await request.get(`/api/v1/resources/DestinationPolicy/${NS}/reviews`, { headers: auth });
  expect(((await now.json()) as { spec: { loadBalancer: { type: string } } }).spec.loadBalancer.type).toBe(
    "roundRobin",
  );
});
