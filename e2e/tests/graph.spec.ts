// The live graph with real traffic: two `trellis proxy` sidecars join the mesh, storefront calls inventory
// through them over mTLS, the sidecars report telemetry to the control plane, and the console's graph shows
// both services and the call with its rate, updates it live, and opens the call's side panel.
// Service names differ from mesh.spec.ts's on purpose: a sidecar resolves a bare name such as `backend` to the
// first namespace that has the service, not its own (dataplane config/snapshot.ts; reported), so a `frontend`
// in e2e-mesh would call e2e-graph's stopped `backend`. Distinct names keep the two journeys independent.
import { expect, test, type APIRequestContext } from "@playwright/test";
import { ADMIN_PASSWORD, ADMIN_TOKEN, joinToken, signInOn } from "./fixtures";
import { app, call, Workloads } from "./mesh-helpers";

const NS = "e2e-graph";
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

interface Edge {
  source: { service: string };
  destination: { service: string };
  requests: number;
  rps: number;
  mtlsShare: number;
  codes: Record<string, number>;
}

async function observed(request: APIRequestContext): Promise<Edge | undefined> {
  const res = await request.get(`/api/v1/traffic/edges?namespace=${NS}&minutes=5&versions=merged`, {
    headers: auth,
  });
  expect(res.status()).toBe(200);
  const { edges } = (await res.json()) as { edges: Edge[] };
  return edges.find((e) => e.source.service === "storefront" && e.destination.service === "inventory");
}

test("the graph shows real services and the call between them, live, with a side panel", async ({
  page,
  request,
}) => {
  test.setTimeout(150_000);
  const token = await joinToken(request, NS);

  const mesh = new Workloads();
  await mesh.add(NS, "inventory", await app("inventory-v1"), token);
  const storefront = await mesh.add(NS, "storefront", await app("storefront-v1"), token);
  let answered = 0;
  const send = async (n: number) => {
    for (let i = 0; i < n; i++) if ((await call(storefront.outbound, "inventory")).status === 200) answered++;
  };
  try {
    await mesh.joined(30_000);
    await expect
      .poll(async () => {
        const r = await call(storefront.outbound, "inventory");
        if (r.status === 200) answered++;
        return r.body;
      })
      .toBe("inventory-v1");
    await send(150);

    // The sidecars report every 10 s; the API then counts every answered call (the caller's view), within a few %.
    await expect
      .poll(async () => (await observed(request))?.requests ?? 0, { timeout: 40_000, intervals: [1000] })
      .toBeGreaterThanOrEqual(answered * 0.97);
    const edge = (await observed(request))!;
    expect(edge.requests).toBeLessThanOrEqual(answered * 1.03 + 5);
    expect(edge.mtlsShare).toBe(1);
    expect(edge.codes["200"]).toBeGreaterThan(0);

    await signInOn(page, "admin", ADMIN_PASSWORD);
    await page.getByRole("link", { name: "Graph" }).click();
    await expect(page.getByRole("heading", { name: "Service graph" })).toBeVisible();
    await page.getByLabel("Namespace").selectOption(NS);

    await expect(
      page.getByRole("button", {
        name: new RegExp(`^inventory [0-9.]+ req/s · [0-9.]+% 5xx, service in ${NS}, healthy$`),
      }),
    ).toBeVisible();
    await expect(
      page.getByRole("button", { name: new RegExp(`^storefront 0 req/s · 0% 5xx, service in ${NS}, idle$`) }),
    ).toBeVisible();
    const label = page.getByRole("button", {
      name: new RegExp(`^Calls from ${NS}/storefront to ${NS}/inventory: [0-9.]+ req/s, mutual TLS$`),
    });
    await expect(label).toBeVisible();
    const before = await label.textContent();
    expect(Number.parseFloat(before!)).toBeGreaterThan(0);

    // Live: twice the calls show in the label without a reload (polling every 5 s, reports every 10 s). The
    // window is whole minutes, 300-360 s long, so the rate must grow by more than 300/360 × 2 = 1.67×.
    await send(150);
    await expect
      .poll(async () => Number.parseFloat((await label.textContent())!), { timeout: 40_000 })
      .toBeGreaterThan(Number.parseFloat(before!) * 1.4);

    await label.click();
    const panel = page.getByRole("complementary", { name: `Calls from ${NS}/storefront to ${NS}/inventory` });
    await expect(panel).toBeVisible();
    await expect(panel).toContainText("Rate");
    await expect(panel).toContainText(/mTLS\s*100\.0%/);
    // The status codes come from traffic.edges, which the page asks for only while an edge's panel is open.
    await expect(panel.getByRole("heading", { name: "Status codes" })).toBeVisible();
    await expect(panel).toContainText(/200\s*\d+/);
    await expect(panel.getByRole("link", { name: "Propose a change" })).toHaveAttribute(
      "href",
      `/changes/new?template=Route&namespace=${NS}&service=inventory`,
    );

    // Other labels; find dims what does not match.
    await page.getByLabel("Edge labels").selectOption("errors");
    await expect(
      page.getByRole("button", {
        name: `Calls from ${NS}/storefront to ${NS}/inventory: 0% 5xx, mutual TLS`,
      }),
    ).toBeVisible();
    await page.getByLabel("Find").fill("inventory");
    await expect(page.getByRole("button", { name: /^storefront .*, service in / })).toHaveClass(/dimmed/);
    await expect(page.getByRole("button", { name: /^inventory .*, service in / })).toHaveClass(/found/);

    await page.getByRole("button", { name: /^inventory .*, service in / }).click();
    const nodePanel = page.getByRole("complementary", { name: "Service inventory" });
    await expect(nodePanel).toContainText("Success");
    await expect(nodePanel).toContainText("100.0%");
    await page.screenshot({ path: "test-results/graph.png" });

    // The service list: inventory's golden metrics from the same telemetry.
    await page.getByRole("link", { name: "Services", exact: true }).click();
    await page.getByLabel("Namespace").selectOption(NS);
    const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: "inventory" }) });
    await expect(row).toContainText("req/s");
    await expect(row).toContainText("100.0%");

    // The service page charts the calls per minute, one line per version.
    await row.getByRole("link", { name: "inventory" }).click();
    const chart = page.getByRole("region", { name: "Over time" });
    await expect(chart.locator(".recharts-line")).toHaveCount(1);
    await expect(chart.getByText("v1")).toBeVisible();
    await expect(page.getByRole("table", { name: "Callers" })).toContainText(`${NS}/storefront`);
  } finally {
    await mesh.stop();
  }
});
