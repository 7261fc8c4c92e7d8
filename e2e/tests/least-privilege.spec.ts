// Least privilege from observed traffic (issue 15): ratings is called by reviews and by web, each beside a
// real `trellis proxy`; cart is in the mesh too but only ever calls web. On ratings' service page an editor
// asks to "Restrict callers to what was observed": the page lists reviews and web as the callers seen, the
// impact preview says none of the last hour's requests to ratings would be refused, and the change request
// opens with the same prediction on its page. Asked to narrow by the methods and paths observed (reviews only
// ever GETs /ratings/…, web only GETs /), the rules say so and the preview still refuses none of the last
// hour's requests. Once approved and acked, reviews and web still get 200 for what they asked before, 403 for
// a method or a path they never used, and cart, never seen calling ratings, gets 403.
import { expect, test } from "@playwright/test";
import { ADMIN_TOKEN, ensureUsers, joinToken, signIn, tokenOf } from "./fixtures";
import { app, call, Workloads, type Sidecar } from "./mesh-helpers";

const NS = "e2e-least";
const PASSWORD = "e2e-least-password-0123";
const EDITOR = "lena";
const APPROVER = "lars";

const mesh = new Workloads();

test.afterAll(() => mesh.stop());

test("restrict ratings to its observed callers: evidence, 0 of the last hour refused, opened, enforced", async ({
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
  for (const name of ["ratings", "reviews", "web", "cart"])
    await mesh.add(NS, name, await app(`${name}-v1`), token);
  const [, reviews, web, cart] = mesh.sidecars as [Sidecar, Sidecar, Sidecar, Sidecar];
  await mesh.joined();

  // The traffic the suggestion is drawn from: reviews and web call ratings, cart calls only web.
  await expect.poll(async () => (await call(cart.outbound, "web")).status, { timeout: 60_000 }).toBe(200);
  // reviews reads ratings under /ratings/, web only asks for / (as the callee's sidecar records them).
  const reviewsPath = (i: number) => `/ratings/${i}?fields=stars`;
  await expect
    .poll(async () => (await call(reviews.outbound, "ratings", reviewsPath(0))).status, { timeout: 60_000 })
    .toBe(200);
  await expect.poll(async () => (await call(web.outbound, "ratings")).status, { timeout: 60_000 }).toBe(200);
  for (let i = 0; i < 20; i++) {
    expect((await call(reviews.outbound, "ratings", reviewsPath(i))).status).toBe(200);
    expect((await call(web.outbound, "ratings")).status).toBe(200);
    expect((await call(cart.outbound, "web")).status).toBe(200);
  }

  // Wait until the impact preview's hour of complete minutes holds those calls (as the REST API says it), both
  // as the callers' sidecars counted them and as ratings' sidecar observed them by method and path: the two
  // report on their own intervals, and until the callee's observations cover a caller's every request the
  // narrowed preview can only say "some … by method or path" (as it should).
  const editor = await tokenOf(request, EDITOR, PASSWORD, "e2e-least");
  await expect
    .poll(
      async () => {
        const s = await request.get(
          `/api/v1/policies/suggest?namespace=${NS}&service=ratings&window=1h&methods=true&paths=true`,
          { headers: editor },
        );
        expect(s.status(), await s.text()).toBe(200);
        const { operation } = (await s.json()) as { operation: unknown };
        if (operation === null) return "no suggestion yet";
        const p = await request.post("/api/v1/changes/preview", {
          headers: editor,
          data: { operations: [operation] },
        });
        const { impact } = (await p.json()) as {
          impact: { accessTotals: { requests: number; deniedRequests: number; partialRequests: number }[] };
        };
        const t = impact.accessTotals[0];
        if (!t || t.requests < 40) return `${t?.requests ?? 0} requests`;
        return `${t.deniedRequests} denied, ${t.partialRequests} partly`;
      },
      { timeout: 150_000, intervals: [5000] },
    )
    .toBe("0 denied, 0 partly");

  // The editor, from ratings' service page.
  const lena = await signIn(browser, EDITOR, PASSWORD);
  await lena.goto(`/services/${NS}/ratings`);
  await lena.getByRole("link", { name: "Restrict callers to what was observed" }).click();
  await expect(lena.getByRole("heading", { level: 1 })).toContainText("Restrict callers of ratings");
  await lena.getByLabel("Observed over").selectOption("1h");

  const evidence = lena.getByRole("table", { name: "Observed callers" });
  await expect(evidence.getByRole("row")).toHaveCount(3); // the header, reviews, web: never cart
  await expect(evidence.getByRole("row", { name: new RegExp(`^${NS}/reviews .* allowed$`) })).toBeVisible();
  await expect(evidence.getByRole("row", { name: new RegExp(`^${NS}/web .* allowed$`) })).toBeVisible();

  const diff = lena.getByRole("table", { name: `Diff of AccessPolicy ${NS}/ratings-observed` });
  await expect(diff).toContainText(`service: reviews`);
  await expect(diff).toContainText(`service: web`);
  await expect(diff).not.toContainText("cart");

  const impact = lena.getByRole("region", { name: "Impact preview" });
  const refused = impact.getByRole("listitem").filter({ hasText: "would have refused" });
  await expect(refused).toHaveText(
    new RegExp(`^would have refused 0 of the last hour's [0-9,]+ requests to ${NS}/ratings$`),
  );
  await expect(impact).not.toContainText("would have denied");

  // Narrowed to the methods and paths each caller was observed with: still none of the last hour refused.
  await lena.getByLabel("Only the methods observed").check();
  await lena.getByLabel("Only the paths observed").check();
  await expect(
    evidence.getByRole("row", { name: new RegExp(`^${NS}/reviews .* allowed GET on /ratings/\\*$`) }),
  ).toBeVisible();
  await expect(
    evidence.getByRole("row", { name: new RegExp(`^${NS}/web .* allowed GET on /$`) }),
  ).toBeVisible();
  await expect(diff).toContainText("/ratings/*");
  await expect(diff).toContainText("methods:");
  await expect(refused).toHaveText(
    new RegExp(`^would have refused 0 of the last hour's [0-9,]+ requests to ${NS}/ratings$`),
  );
  await expect(impact).not.toContainText("would have denied");
  await expect(impact).not.toContainText("by method or path");

  await lena.getByRole("button", { name: "Open change request" }).click();
  await expect(lena).toHaveURL(/\/changes\/\d+$/);
  await expect(lena.getByRole("heading", { level: 1 })).toContainText(
    `Restrict callers of ${NS}/ratings to those observed in the last 1h`,
  );
  await expect(
    lena
      .getByRole("region", { name: "Impact preview" })
      .getByRole("listitem")
      .filter({ hasText: "would have refused" }),
  ).toHaveText(new RegExp(`^would have refused 0 of the last hour's [0-9,]+ requests to ${NS}/ratings$`));
  const number = /\/changes\/(\d+)$/.exec(lena.url())![1]!;

  // Approved by someone else, and enforced by ratings' sidecar: the callers seen keep their access, cart
  // (never seen calling ratings) is refused.
  const approver = await tokenOf(request, APPROVER, PASSWORD, "e2e-least");
  const approved = await request.post(`/api/v1/changes/${number}/approve`, { headers: approver, data: {} });
  expect(approved.status(), await approved.text()).toBe(200);
  await expect
    .poll(
      async () => {
        const r = await request.get(`/api/v1/changes/${number}/rollout`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        const ro = (await r.json()) as { proxies: { namespace: string; service: string; state: string }[] };
        return ro.proxies.find((p) => p.namespace === NS && p.service === "ratings")?.state;
      },
      { timeout: 60_000 },
    )
    .toBe("acked");
  const denied = await call(cart.outbound, "ratings");
  expect(denied.status, denied.body).toBe(403);
  expect((await call(reviews.outbound, "ratings", reviewsPath(99))).status).toBe(200);
  expect((await call(web.outbound, "ratings")).status).toBe(200);
  // What they were never seen doing: another method, another path.
  expect((await call(reviews.outbound, "ratings", reviewsPath(1), "DELETE")).status).toBe(403);
  expect((await call(web.outbound, "ratings", "/admin")).status).toBe(403);
});
