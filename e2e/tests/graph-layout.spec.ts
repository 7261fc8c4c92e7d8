// The graph reads well and works from the keyboard (decision 022): on the demo's shape of graph, no edge runs
// through a node and no label covers one (measured on the SVG the browser drew); the keyboard reaches the
// page past the navigation, a node, its side panel and back; Find brings a node into view after zooming.
// The traffic is written straight into the telemetry table, as the control plane writes what sidecars
// report (as the graph benchmark does): the layout is what is tested here, not the sidecars (graph.spec.ts).
import { expect, test, type Page } from "@playwright/test";
import { createDb } from "@trellis/db";
import { ADMIN_PASSWORD, signInOn } from "./fixtures";

const NS = "e2e-layout";
// packages/demo's calls: the ingress sends the front page to productpage and the live feed to feed,
// productpage asks details and reviews, reviews and feed ask ratings.
const CALLS: [string, string][] = [
  ["ingress", "productpage"],
  ["ingress", "feed"],
  ["productpage", "details"],
  ["productpage", "reviews"],
  ["reviews", "ratings"],
  ["feed", "ratings"],
];

test.beforeAll(async () => {
  const db = createDb(process.env.E2E_DATABASE_URL!);
  try {
    // The last 8 minutes, so the graph's default 5-minute window is full for the whole file.
    await db.$executeRaw`
      INSERT INTO "TelemetryRollup" ("bucket", "reporter", "sourceNamespace", "sourceService", "sourceVersion",
        "destNamespace", "destService", "destVersion", "statusCode", "requests", "mtlsRequests",
        "durationSumMs", "latencyBuckets")
      SELECT date_trunc('minute', now() AT TIME ZONE 'UTC') - make_interval(mins => m), 'outbound',
        ${NS}, (${CALLS.map(([a]) => a)}::text[])[e], 'v1', ${NS}, (${CALLS.map(([, b]) => b)}::text[])[e], 'v1',
        200, 60, 60, 600.0, ARRAY[0, 10, 30, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]::bigint[]
      FROM generate_series(1, ${CALLS.length}::int) AS e, generate_series(0, 7) AS m
      ON CONFLICT DO NOTHING`;
  } finally {
    await db.$disconnect();
  }
});

async function openGraph(page: Page) {
  await signInOn(page, "admin", ADMIN_PASSWORD);
  await page.goto(`/graph?namespace=${NS}`);
  await expect(page.locator("button[data-node-id]")).toHaveCount(6);
  await expect(page.locator(".graph-edge-label")).toHaveCount(CALLS.length);
  // fitView runs 80 ms after the canvas is measured; let it settle before measuring.
  await page.waitForTimeout(500);
}

interface Found {
  crossings: string[];
  labelsOverNodes: string[];
  edgesMeasured: number;
}

/**
 * In the page: every edge's drawn path, sampled every 2 px (screen coordinates), against every node box it does
 * not start or end at (1 px inside its border); every label box against every node box.
 */
function measure(): Found {
  const boxes = Array.from(document.querySelectorAll<HTMLElement>("button[data-node-id]")).map((b) => ({
    id: b.dataset.nodeId!,
    r: b.getBoundingClientRect(),
  }));
  const crossings: string[] = [];
  let edgesMeasured = 0;
  for (const g of Array.from(document.querySelectorAll<SVGGElement>(".react-flow__edge"))) {
    const id = g.getAttribute("data-id") ?? g.dataset.testid?.replace(/^rf__edge-/, "") ?? "";
    const [source, target] = id.split("->");
    const path = g.querySelector<SVGPathElement>("path.react-flow__edge-path")!;
    const ctm = path.getScreenCTM()!;
    const len = path.getTotalLength();
    edgesMeasured++;
    for (const { id: node, r } of boxes) {
      if (node === source || node === target) continue;
      for (let at = 0; at <= len; at += 2) {
        const p = path.getPointAtLength(at).matrixTransform(ctm);
        if (p.x > r.left + 1 && p.x < r.right - 1 && p.y > r.top + 1 && p.y < r.bottom - 1) {
          crossings.push(`${id} crosses ${node}`);
          break;
        }
      }
    }
  }
  const labelsOverNodes: string[] = [];
  for (const l of Array.from(document.querySelectorAll<HTMLElement>(".graph-edge-label"))) {
    const a = l.getBoundingClientRect();
    for (const { id: node, r } of boxes)
      if (a.left < r.right && a.right > r.left && a.top < r.bottom && a.bottom > r.top)
        labelsOverNodes.push(`${l.getAttribute("aria-label")} covers ${node}`);
  }
  return { crossings, labelsOverNodes, edgesMeasured };
}

test("on the demo's graph no edge crosses a node and no label covers one", async ({ page }) => {
  await openGraph(page);
  await page.screenshot({ path: "test-results/graph-layout.png" });
  const found = await page.evaluate(measure);
  expect(found.edgesMeasured).toBe(CALLS.length);
  expect(found.crossings).toEqual([]);
  expect(found.labelsOverNodes).toEqual([]);

  // The measurement sees a crossing when there is one: drag details onto feed → ratings, centred on its
  // label (which sits on the edge's path).
  const label = (await page.locator(`[data-edge-id="${NS}/feed->${NS}/ratings"]`).boundingBox())!;
  const details = (await page.locator(`[data-node-id="${NS}/details"]`).boundingBox())!;
  const to = { x: label.x + label.width / 2, y: label.y + label.height / 2 };
  await page.mouse.move(details.x + details.width / 2, details.y + details.height / 2);
  await page.mouse.down();
  for (let i = 1; i <= 10; i++)
    await page.mouse.move(
      details.x + details.width / 2 + ((to.x - details.x - details.width / 2) * i) / 10,
      details.y + details.height / 2 + ((to.y - details.y - details.height / 2) * i) / 10,
    );
  await page.mouse.up();
  await expect
    .poll(async () => (await page.evaluate(measure)).crossings)
    .toContain(`${NS}/feed->${NS}/ratings crosses ${NS}/details`);
});

test("node buttons are named by what they show", async ({ page }) => {
  await openGraph(page);
  const nodes = page.locator("button[data-node-id]");
  for (let i = 0; i < (await nodes.count()); i++) {
    const node = nodes.nth(i);
    const name = (await node.getAttribute("aria-label"))!;
    // Each piece of visible text (the name, the numbers) appears in the accessible name, in order.
    const shown = (await node.innerText())
      .split("\n")
      .map((s) => s.trim())
      .filter(Boolean);
    expect(shown.length).toBeGreaterThanOrEqual(2);
    let from = 0;
    for (const piece of shown) {
      const at = name.indexOf(piece, from);
      expect(at, `"${piece}" in "${name}"`).toBeGreaterThanOrEqual(0);
      from = at + piece.length;
    }
  }
});

test("from the keyboard: skip link, a node, its panel, Escape back to the node", async ({ page }) => {
  await openGraph(page);
  // The skip link is the first stop, and takes focus past the navigation to the page.
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
  await page.keyboard.press("Enter");
  await expect(page.locator("main#content")).toBeFocused();

  // Tab on through the graph's options to the first node.
  let node: string | undefined;
  for (let i = 0; i < 40 && node === undefined; i++) {
    await page.keyboard.press("Tab");
    node = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.nodeId);
    // Never back into the navigation: the skip link moved the Tab order past it.
    expect(await page.evaluate(() => document.activeElement?.closest("nav") === null)).toBe(true);
  }
  expect(node).toBeDefined();
  const service = node!.split("/")[1]!;

  await page.keyboard.press("Enter");
  const panel = page.getByRole("complementary", { name: `Service ${service}` });
  await expect(panel).toBeVisible();
  await expect
    .poll(() => page.evaluate(() => document.activeElement?.closest(".graph-panel") !== null))
    .toBe(true);

  await page.keyboard.press("Escape");
  await expect(panel).toBeHidden();
  await expect(page.locator(`button[data-node-id="${node}"]`)).toBeFocused();
});

test("after zooming in, Find brings a node out of view into view", async ({ page }) => {
  await openGraph(page);
  const canvas = page.locator(".graph-canvas");
  for (let i = 0; i < 6; i++) await page.getByRole("button", { name: /zoom in/i }).click();
  await page.waitForTimeout(400);
  const view = (await canvas.boundingBox())!;
  const outside = async (id: string) => {
    // Not in the page at all (React Flow renders only what is on screen), or not inside the canvas.
    const node = page.locator(`button[data-node-id="${id}"]`);
    if ((await node.count()) === 0) return true;
    const b = await node.boundingBox();
    return (
      b === null ||
      b.x + b.width <= view.x ||
      b.x >= view.x + view.width ||
      b.y + b.height <= view.y ||
      b.y >= view.y + view.height
    );
  };
  let away: string | undefined;
  for (const s of ["ingress", "ratings", "feed", "details", "productpage", "reviews"])
    if (away === undefined && (await outside(`${NS}/${s}`))) away = s;
  expect(away, "zooming in left some node out of view").toBeDefined();

  await page.getByLabel("Find").fill(away!);
  await expect.poll(() => outside(`${NS}/${away}`), { timeout: 10_000 }).toBe(false);
  await expect(page.locator(`button[data-node-id="${NS}/${away}"]`)).toBeInViewport();
});
