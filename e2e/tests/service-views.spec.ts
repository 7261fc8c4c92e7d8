// Replaying the past and the service views, with real traffic: two `trellis proxy` sidecars join the mesh,
// checkout calls catalog through them; a first batch of calls, then (in a later minute) a burst six times
// as big. The graph replays the window that ended before the burst and shows the first batch's rate, not
// the live one, in its label and in the side panel's charts; the services list draws each service's
// sparkline; the service page lists the service's proxy and its config sync state and shows its virtual IP,
// and replays the past too.
// Service names differ from the other specs' on purpose (see graph.spec.ts: a bare name resolves to the
// first namespace that has it).
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { ADMIN_PASSWORD, ADMIN_TOKEN, joinToken, signInOn } from "./fixtures";
import { app, call, Workloads } from "./mesh-helpers";

const NS = "e2e-replay";
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const MINUTE = 60_000;

// The Ending field and the window shown are the browser's local time: pin it to UTC, so the test can type
// and read UTC minutes.
test.use({ timezoneId: "UTC" });

interface Edge {
  source: { service: string };
  destination: { service: string };
  requests: number;
  rps: number;
}

/** checkout → catalog over the 5 minutes ending at `until` (now if absent), as the REST API reports it. */
async function observed(request: APIRequestContext, until?: Date): Promise<Edge | undefined> {
  const q = new URLSearchParams({ namespace: NS, minutes: "5", versions: "merged" });
  if (until) q.set("until", until.toISOString());
  const res = await request.get(`/api/v1/traffic/edges?${q.toString()}`, { headers: auth });
  expect(res.status()).toBe(200);
  const { edges } = (await res.json()) as { edges: Edge[] };
  return edges.find((e) => e.source.service === "checkout" && e.destination.service === "catalog");
}

/** The console's formatRps, for rates the test computes itself. */
const formatRps = (rps: number) =>
  rps === 0 ? "0 req/s" : `${rps < 10 ? rps.toFixed(2) : rps < 100 ? rps.toFixed(1) : Math.round(rps)} req/s`;
const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
const rateOf = async (page: Page, name: RegExp) =>
  Number.parseFloat((await page.getByRole("button", { name }).textContent()) ?? "NaN");

test("the graph replays a past window from the rollups; sparklines and the service's proxies show", async ({
  page,
  request,
}) => {
  test.setTimeout(300_000);
  const token = await joinToken(request, NS);

  const mesh = new Workloads();
  await mesh.add(NS, "catalog", await app("catalog-v1"), token);
  const checkout = await mesh.add(NS, "checkout", await app("checkout-v1"), token);
  let answered = 0;
  const send = async (n: number) => {
    for (let i = 0; i < n; i++) if ((await call(checkout.outbound, "catalog")).status === 200) answered++;
  };
  /** Waits until the API counts the answered calls, within a few % (the sidecars report every 10 s). */
  const reported = () =>
    expect
      .poll(async () => (await observed(request))?.requests ?? 0, { timeout: 45_000, intervals: [1000] })
      .toBeGreaterThanOrEqual(answered * 0.97);
  try {
    await mesh.joined(30_000);
    await expect
      .poll(async () => {
        const r = await call(checkout.outbound, "catalog");
        if (r.status === 200) answered++;
        return r.body;
      })
      .toBe("catalog-v1");

    // The first batch, reported; then the minute it was reported in ends. Rollups are per minute of
    // arrival at the control plane, so everything before `boundary` is this batch, and nothing after it.
    await send(60);
    await reported();
    const earlier = answered;
    const boundary = Math.ceil(Date.now() / MINUTE) * MINUTE;
    await new Promise((r) => setTimeout(r, boundary - Date.now() + 1000));

    // The burst, six times as big, after the boundary.
    const burstStart = Date.now();
    await send(360);
    const burstSeconds = (Date.now() - burstStart) / 1000;
    await reported();
    const past = (await observed(request, new Date(boundary)))!;
    expect(past.requests).toBeGreaterThanOrEqual(earlier * 0.97);
    expect(past.requests).toBeLessThanOrEqual(earlier * 1.03 + 5);
    const pastRate = formatRps(past.rps); // the window is exactly 300 s
    const live = (await observed(request))!;
    expect(live.rps).toBeGreaterThan(past.rps * 2.5);
    // The busiest minute of the first batch holds at most all of it; of the burst, at least its share of
    // the minutes its reports arrived in (sent over `burstSeconds`, reported up to 10 s later).
    const pastPeak = past.requests / 60;
    const burstPeak = 360 / (Math.ceil((burstSeconds + 10) / 60) + 1) / 60;
    expect(burstPeak).toBeGreaterThan(pastPeak * 1.5);

    await signInOn(page, "admin", ADMIN_PASSWORD);
    await page.getByRole("link", { name: "Graph" }).click();
    await expect(page.getByRole("heading", { name: "Service graph" })).toBeVisible();
    await page.getByLabel("Namespace").selectOption(NS);

    const edgeName = new RegExp(`^Calls from ${NS}/checkout to ${NS}/catalog: [0-9.]+ req/s`);
    const label = page.getByRole("button", { name: edgeName });
    await expect(label).toBeVisible();
    // Live first: the burst is in it.
    await expect.poll(() => rateOf(page, edgeName)).toBeGreaterThan(past.rps * 2.5);

    // Replay the 5 minutes ending at the boundary: the first batch's rate, to the digit, and its window.
    await page.getByLabel("Ending").fill(new Date(boundary).toISOString().slice(0, 16));
    await expect(page.getByText("replaying a past window")).toBeVisible();
    await expect(label).toHaveText(pastRate);
    await expect(page.getByText(`window ${hhmm(boundary - 5 * MINUTE)}–${hhmm(boundary)}`)).toBeVisible();
    // Replayed, it holds still: no polling moves it.
    await page.waitForTimeout(6_000);
    await expect(label).toHaveText(pastRate);

    // The call's side panel charts the same past window: its peak is a minute of the first batch, not the
    // burst's.
    await label.click();
    const panel = page.getByRole("complementary", { name: `Calls from ${NS}/checkout to ${NS}/catalog` });
    const charts = panel.getByRole("region", { name: "Charts over the window" });
    await expect(charts.getByRole("figure")).toHaveCount(3);
    await expect(charts.locator(".recharts-line")).toHaveCount(5); // rate, 5xx, p50/p95/p99
    const peakRate = panel.getByRole("figure", { name: "Requests per second" }).locator("figcaption");
    await expect(peakRate).toContainText(/peak [0-9.]+ req\/s/);
    const peak = Number.parseFloat(/peak ([0-9.]+)/.exec((await peakRate.textContent())!)![1]!);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(pastPeak + 0.01);
    await expect(panel.getByRole("figure", { name: "5xx share" })).toContainText("peak 0%");
    await expect(panel.getByRole("link", { name: "Propose a change" })).toHaveAttribute(
      "href",
      `/changes/new?template=Route&namespace=${NS}&service=catalog`,
    );
    await page.screenshot({ path: "test-results/graph-replay.png" });

    // Back to live: the burst again, and the panel's peak with it.
    await page.getByRole("button", { name: "Back to live" }).click();
    await expect(page.getByText("now (live)")).toBeVisible();
    await expect.poll(() => rateOf(page, edgeName)).toBeGreaterThan(past.rps * 2.5);
    await expect
      .poll(async () => Number.parseFloat(/peak ([0-9.]+)/.exec((await peakRate.textContent())!)![1]!))
      .toBeGreaterThanOrEqual(burstPeak - 0.01);

    // The services list: a sparkline per service over the window, from one batched query. catalog's
    // busiest minute is the burst's; checkout receives nothing.
    await page.getByRole("link", { name: "Services", exact: true }).click();
    await page.getByLabel("Namespace").selectOption(NS);
    // By role: the graph's panel ("Charts over the window") may still be on the page while the list loads.
    await page.getByRole("combobox", { name: "Window" }).selectOption("15");
    const row = (service: string) =>
      page.getByRole("row").filter({ has: page.getByRole("link", { name: service, exact: true }) });
    const catalogLine = row("catalog").getByRole("img", { name: /^Over 15 minutes: up to [0-9.]+ req\/s/ });
    await expect(catalogLine).toBeVisible();
    await expect(catalogLine).toHaveAttribute("aria-label", /no 5xx$/);
    // The label follows the Window field at once; the points follow when the 15-minute answer arrives (until
    // then the 5-minute one is still drawn).
    await expect
      .poll(async () => Number(await catalogLine.getAttribute("data-points")))
      .toBeGreaterThanOrEqual(15);
    const sparkPeak = Number.parseFloat(
      /up to ([0-9.]+)/.exec((await catalogLine.getAttribute("aria-label"))!)![1]!,
    );
    expect(sparkPeak).toBeGreaterThanOrEqual(burstPeak - 0.01);
    await expect(row("checkout").getByRole("img")).toHaveAttribute(
      "aria-label",
      "Over 15 minutes: up to 0 req/s, no 5xx",
    );

    // The service page: its proxy, connected and running its config.
    await row("catalog").getByRole("link", { name: "catalog", exact: true }).click();
    const proxies = page.getByRole("region", { name: "Proxies" });
    await expect(proxies.getByRole("status")).toHaveText(
      /^1 proxy, 1 connected: 1 in sync, 0 pending, 0 NACKed/,
    );
    const proxyRow = proxies.getByRole("table", { name: "Proxies of the service" }).getByRole("row").nth(1);
    await expect(proxyRow).toContainText("v1");
    await expect(proxyRow).toContainText("connected");
    await expect(proxyRow).toContainText("In sync");
    await expect(page.getByRole("table", { name: "Status codes" })).toContainText("200");
    // The "Over time" chart draws a line for v1: its Recharts code loads only once the series has arrived.
    await expect(page.getByRole("region", { name: "Over time" }).locator(".recharts-line")).toHaveCount(1);
    // Its virtual IP, as the control plane allocated it (from the default block, 240.0.0.0/4).
    const listed = await request.get(`/api/v1/services?namespace=${NS}`, { headers: auth });
    const { items } = (await listed.json()) as { items: { name: string; vip: string | null }[] };
    const vip = items.find((s) => s.name === "catalog")?.vip ?? "";
    expect(vip).toMatch(/^(24[0-9]|25[0-5])\.\d+\.\d+\.\d+$/);
    await expect(page.getByRole("region", { name: "Service at a glance" })).toContainText(`${vip}Virtual IP`);

    // The service page replays the same past window: the first batch alone, as the graph showed it.
    const callers = page.getByRole("table", { name: "Callers" });
    await expect(callers).not.toContainText(pastRate);
    await page.getByLabel("Ending").fill(new Date(boundary).toISOString().slice(0, 16));
    await expect(callers).toContainText(pastRate);
    await expect(
      page
        .getByRole("table", { name: "Inbound by version" })
        .getByRole("cell", { name: String(past.requests), exact: true }),
    ).toBeVisible();
  } finally {
    await mesh.stop();
  }
});
