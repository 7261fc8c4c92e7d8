// A small mesh of its own (two real `trellis proxy` sidecars, one of them in front of a failing app, and a
// light proxy that refuses every config it is sent), seen by a viewer: she reads services, changes and
// proxies, is offered nothing that would change them, and the API refuses her when she tries anyway. The
// Proxies page, the overview and the service's page tell the NACKing proxy apart, with its reason in full.
import { expect, test } from "@playwright/test";
import { LightProxy } from "@trellis/control-plane/testing";
import { fetchPinnedCa, generateKeyAndCsr } from "@trellis/dataplane/mesh";
import { ADMIN_TOKEN, joinToken, signIn } from "./fixtures";
import { app, call, Workloads } from "./mesh-helpers";

const NS = "e2e-viewer";
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const PASSWORD = "e2e-viewer-password-0123";
const CHANGE_TITLE = "Least-request balancing for backend";
// Longer than a table cell: the page must show all of it, not an ellipsis.
const POLICY = `apiVersion: trellis.dev/v1alpha1
kind: DestinationPolicy
metadata: { namespace: ${NS}, name: backend }
spec:
  service: backend
  loadBalancer: { type: leastRequest }
`;
const REFUSAL =
  "listeners.outbound: cannot move the outbound listener to 127.0.0.1:1 while serving; " +
  "this test proxy refuses every config it is sent and keeps the one it has";

test.describe.configure({ mode: "serial" });

const mesh = new Workloads();
let refusing: LightProxy | null = null;
let change = { id: "", number: 0 };

test.beforeAll(async ({ request }) => {
  test.setTimeout(120_000);
  const user = await request.post("/api/v1/users", {
    headers: auth,
    data: { name: "vera", password: PASSWORD, bindings: [{ role: "viewer", namespace: NS }] },
  });
  // 409: made by an earlier attempt of this file in the same run.
  expect([200, 409], await user.text()).toContain(user.status());

  const token = await joinToken(request, NS);
  await mesh.add(NS, "backend", await app("backend is failing", 503), token);
  const frontend = await mesh.add(NS, "frontend", await app("frontend-v1"), token);
  await mesh.joined(30_000);

  const proposed = await request.post("/api/v1/changes", {
    headers: auth,
    data: {
      title: CHANGE_TITLE,
      yaml: POLICY,
    },
  });
  expect(proposed.status(), await proposed.text()).toBe(200);
  change = (await proposed.json()) as { id: string; number: number };

  const { csrPem } = await generateKeyAndCsr();
  refusing = new LightProxy({
    url: process.env.E2E_CP_URL!,
    token,
    caPem: await fetchPinnedCa(process.env.E2E_CP_URL!, token),
    csrPem,
    node: { namespace: NS, service: "ratings", version: "v1", address: "127.0.0.1:9", labels: {} },
    decide: () => REFUSAL,
  });
  await refusing.connect();
  await refusing.until(() => refusing!.configs.length > 0, 15_000, "a config to refuse");

  // Calls from frontend to the failing backend, for the telemetry the overview ranks services by.
  await expect.poll(async () => (await call(frontend.outbound, "backend")).status).toBe(503);
  for (let i = 0; i < 20; i++) await call(frontend.outbound, "backend");
});

test.afterAll(async () => {
  await refusing?.close();
  await mesh.stop();
});

test("a viewer sees services, changes and proxies, is offered no change, and the API refuses her", async ({
  browser,
  request,
}) => {
  const vera = await signIn(browser, "vera", PASSWORD);
  const nav = vera.getByRole("navigation", { name: "Main" });

  await nav.getByRole("link", { name: "Services", exact: true }).click();
  await expect(
    vera.getByRole("table", { name: "Services" }).getByRole("link", { name: "backend" }),
  ).toBeVisible();

  // The change's page first: the Review note appears once her rights are known, so the absences after it
  // are not just a page still loading.
  await vera.goto(`/changes/${change.number}`);
  await expect(vera.getByRole("heading", { level: 1 })).toContainText(CHANGE_TITLE);
  await expect(vera.getByText(`Deciding on this change takes the approver role in ${NS}.`)).toBeVisible();
  for (const name of ["Approve", "Reject", "Rebase", "Cancel change"])
    await expect(vera.getByRole("button", { name })).toHaveCount(0);
  await expect(vera.getByLabel("Comment")).toHaveCount(0);

  await nav.getByRole("link", { name: "Changes" }).click();
  await expect(vera.getByRole("table", { name: "Change requests" })).toContainText(CHANGE_TITLE);
  await expect(vera.getByRole("link", { name: "New change" })).toHaveCount(0);
  await nav.getByRole("link", { name: "Resources" }).click();
  await expect(vera.getByRole("heading", { name: "Resources in force" })).toBeVisible();
  await expect(vera.getByRole("link", { name: "New change" })).toHaveCount(0);

  await nav.getByRole("link", { name: "Proxies" }).click();
  const proxies = vera.getByRole("table", { name: "Proxies" });
  for (const service of ["backend", "frontend", "ratings"])
    await expect(proxies.getByRole("link", { name: service, exact: true })).toBeVisible();

  // Typing the editor's address: she may preview, and is not offered to open the request.
  await vera.goto("/changes/new");
  await expect(vera.getByText("Your role lets you preview a change, not propose it")).toBeVisible();
  await expect(vera.getByRole("button", { name: "Open change request" })).toHaveCount(0);

  // A direct attempt with her own API token is refused all the same.
  const signedIn = await request.post("/api/v1/tokens/sign-in", {
    data: { user: "vera", password: PASSWORD, name: "e2e" },
  });
  expect(signedIn.status(), await signedIn.text()).toBe(200);
  const viewer = { authorization: `Bearer ${((await signedIn.json()) as { token: string }).token}` };
  const approve = await request.post(`/api/v1/changes/${change.id}/approve`, { headers: viewer, data: {} });
  expect(approve.status()).toBe(403);
  expect(await approve.json()).toMatchObject({ code: "FORBIDDEN" });
  const propose = await request.post("/api/v1/changes", {
    headers: viewer,
    data: { title: "The same, by a viewer", yaml: POLICY },
  });
  expect(propose.status()).toBe(403);
  const read = await request.get(`/api/v1/changes/${change.id}`, { headers: viewer });
  expect(read.status()).toBe(200);
});

test("the overview and the Proxies page show the mesh's proxies, and the NACKing one stands out", async ({
  browser,
}) => {
  const vera = await signIn(browser, "vera", PASSWORD);
  // She reads only her namespace: the counts are this file's mesh.
  const glance = vera.getByRole("region", { name: "Mesh at a glance" });
  await expect(glance).toContainText("3/3Proxies connected");
  await expect(glance).toContainText("1Proxies NACKingShow the NACKed proxies");
  await expect(vera.getByRole("region", { name: "Highest error rates" }).getByRole("row")).toContainText(
    ["Service", /backend in e2e-viewer\s*100(\.0)?%/],
    { timeout: 30_000 },
  );

  await glance.getByRole("link", { name: "Show the NACKed proxies" }).click();
  await expect(vera).toHaveURL(/\/proxies\?sync=nacked$/);
  await expect(vera.getByRole("combobox", { name: "Sync state" })).toHaveValue("nacked");
  const table = vera.getByRole("table", { name: "Proxies" });
  const ratings = table.getByRole("row").filter({ has: vera.getByRole("link", { name: "ratings" }) });
  await expect(ratings).toContainText("NACKed");
  await expect(table).toContainText(REFUSAL);
  await expect(table.getByRole("link", { name: "backend" })).toHaveCount(0);
  await expect(vera.getByRole("status").filter({ hasText: "3 proxies" })).toContainText("1 NACKed");

  await vera.getByRole("button", { name: "Clear filters" }).first().click();
  await expect(vera).toHaveURL(/\/proxies$/);
  for (const service of ["backend", "frontend"]) {
    const row = table
      .getByRole("row")
      .filter({ has: vera.getByRole("link", { name: service, exact: true }) });
    await expect(row).toContainText("connected");
    await expect(row).toContainText("In sync");
  }

  // Filters are plain form fields: the keyboard reaches and changes them.
  const sync = vera.getByRole("combobox", { name: "Sync state" });
  await sync.focus();
  await sync.selectOption("in_sync");
  await expect(table.getByRole("link", { name: "ratings" })).toHaveCount(0);
  await vera.getByRole("combobox", { name: "Service" }).selectOption("frontend");
  await expect(table.getByRole("link")).toHaveText(["frontend"]);
  await expect(vera).toHaveURL(/sync=in_sync/);

  // The NACKing proxy's own service page says so too, with the reason in full.
  await vera.goto(`/services/${NS}/ratings`);
  const proxies = vera.getByRole("region", { name: "Proxies" });
  await expect(proxies.getByRole("status")).toHaveText(
    /^1 proxy, 1 connected: 0 in sync, 0 pending, 1 NACKed/,
  );
  await expect(proxies.getByRole("table", { name: "Proxies of the service" })).toContainText("NACKed");
  await expect(proxies).toContainText(REFUSAL);
});

test("pages arrive with their data, read on the server with the viewer's own rights", async ({ browser }) => {
  const vera = await signIn(browser, "vera", PASSWORD);
  // No tRPC call from the browser gets through: whatever these pages show came with their HTML, prefetched on
  // the server (decision 021). Refused, not left hanging, so a page that still fetches shows its error.
  await vera.route("**/api/trpc/**", (route) => route.abort());

  await vera.goto("/");
  // Her namespace only: the server read the overview as her, not as someone who sees more.
  const glance = vera.getByRole("region", { name: "Mesh at a glance" });
  await expect(glance).toContainText("3/3Proxies connected");
  await expect(glance).toContainText("1Proxies NACKing");
  await expect(glance).toContainText("1Open change requests");
  await expect(vera.getByRole("region", { name: "Highest error rates" }).getByRole("row")).toContainText([
    "Service",
    /backend in e2e-viewer/,
  ]);

  await vera.goto(`/services/${NS}/ratings`);
  await expect(vera.getByRole("region", { name: "Proxies" }).getByRole("status")).toHaveText(
    /^1 proxy, 1 connected: 0 in sync, 0 pending, 1 NACKed/,
  );
  await expect(vera.getByRole("region", { name: "Service at a glance" })).toContainText("v1Versions");

  await vera.goto(`/changes/${change.number}`);
  await expect(vera.getByRole("heading", { name: `#${change.number} ${CHANGE_TITLE}` })).toBeVisible();
  await expect(vera.getByRole("region", { name: "Changes to resources" })).toContainText("valid");

  await vera.goto("/graph");
  await expect(vera.getByRole("button", { name: new RegExp(`^backend .*, service in ${NS}`) })).toBeVisible();
  await expect(
    vera.getByRole("button", { name: new RegExp(`^frontend .*, service in ${NS}`) }),
  ).toBeVisible();
});
