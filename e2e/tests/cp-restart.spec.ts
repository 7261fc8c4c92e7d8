// Journey 4 of the demo issue, a control-plane restart under traffic: two real `trellis proxy` sidecars are
// joined to a `trellis controlplane` replica of their own (same database and CA as `trellis up`'s, which keeps
// serving the console). While cart calls pricing through its sidecar at a steady pace, that replica is stopped
// with SIGTERM and started again: no call fails, both proxies reconnect and run the config they ran before,
// and the console, reloaded, still shows them on its Proxies page.
import { expect, test, type APIRequestContext } from "@playwright/test";
import { ADMIN_PASSWORD, ADMIN_TOKEN, joinToken, signInOn } from "./fixtures";
import { app, call, controlPlane, freePort, Workloads, type ControlPlaneProcess } from "./mesh-helpers";

const NS = "e2e-cp-restart";
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

interface Proxy {
  service: string;
  status: string;
  ackedVersion: string | null;
  connectedAt: string;
  sync: { state: string };
}

async function proxies(request: APIRequestContext): Promise<Proxy[]> {
  const res = await request.get(`/api/v1/proxies?namespace=${NS}`, { headers: admin });
  expect(res.status(), await res.text()).toBe(200);
  return ((await res.json()) as { items: Proxy[] }).items.sort((a, b) => a.service.localeCompare(b.service));
}

const mesh = new Workloads();
const sidecars = mesh.sidecars;
let cp: ControlPlaneProcess | null = null;

test.afterAll(async () => {
  await mesh.stop();
  // Only the replica this file started.
  if (cp !== null && cp.child.exitCode === null) {
    cp.child.kill("SIGTERM");
    await cp.exited;
  }
});

test("a control-plane restart under traffic: no failed call, proxies resync, the console still serves", async ({
  page,
  request,
}) => {
  test.setTimeout(240_000);
  const token = await joinToken(request, NS);

  const port = await freePort();
  cp = await controlPlane(port);
  // Only the services they call: their config (and its version, compared across the restart) is then theirs
  // alone, not changed by other journeys' proxies coming and going elsewhere in the mesh meanwhile.
  const joinedTo = { controlPlane: cp.url, extraArgs: ["--reachable-service", "pricing"] };
  await mesh.add(NS, "pricing", await app("pricing-v1"), token, joinedTo);
  const cart = await mesh.add(NS, "cart", await app("cart-v1"), token, joinedTo);
  await mesh.joined();
  await expect
    .poll(async () => (await call(cart.outbound, "pricing")).body, { timeout: 60_000 })
    .toBe("pricing-v1");
  let before: Proxy[] = [];
  await expect
    .poll(
      async () => {
        before = await proxies(request);
        return before.map((p) => `${p.service} ${p.status} ${p.sync.state}`);
      },
      { timeout: 30_000 },
    )
    .toEqual(["cart connected in_sync", "pricing connected in_sync"]);
  expect(before.every((p) => p.ackedVersion !== null)).toBe(true);

  await signInOn(page, "admin", ADMIN_PASSWORD);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Proxies" }).click();
  const table = page.getByRole("table", { name: "Proxies" });
  await expect(table.getByRole("link", { name: "pricing", exact: true })).toBeVisible();

  // Steady traffic, one call every 20 ms, for the whole restart.
  const failures: string[] = [];
  let answered = 0;
  let running = true;
  const traffic = (async () => {
    while (running) {
      const started = Date.now();
      const r = await call(cart.outbound, "pricing");
      if (r.status === 200 && r.body === "pricing-v1") answered++;
      else failures.push(`${new Date().toISOString()} ${r.status} ${r.body.trim()}`);
      await new Promise((res) => setTimeout(res, Math.max(0, 20 - (Date.now() - started))));
    }
  })();
  const answeredBy = (n: number) =>
    expect.poll(() => answered, { timeout: 60_000 }).toBeGreaterThanOrEqual(n);
  await answeredBy(50);

  // Stop the replica (this file's own process) and wait until both proxies know it is gone.
  const lost = sidecars.map((s) => s.output().split("lost the control plane").length);
  cp.child.kill("SIGTERM");
  expect(await cp.exited).toBe(0);
  for (const [i, s] of sidecars.entries())
    await expect
      .poll(() => s.output().split("lost the control plane").length, { timeout: 30_000 })
      .toBeGreaterThan(lost[i]!);
  // Traffic flows with no control plane at all: the proxies serve their last config.
  const down = answered;
  await answeredBy(down + 100);

  const restartedAt = Date.now();
  cp = await controlPlane(port);
  // Both proxies come back (reconnect backoff has full jitter, so give it time), running what they ran.
  await expect
    .poll(
      async () =>
        (await proxies(request)).map(
          (p) =>
            `${p.service} ${p.status} ${Date.parse(p.connectedAt) >= restartedAt - 1000 ? "reconnected" : "not yet"} ${p.ackedVersion}`,
        ),
      { timeout: 90_000, intervals: [1000] },
    )
    .toEqual(before.map((p) => `${p.service} connected reconnected ${p.ackedVersion}`));
  const after = await proxies(request);
  expect(after.map((p) => p.sync.state)).toEqual(["in_sync", "in_sync"]);

  const back = answered;
  await answeredBy(back + 100);
  running = false;
  await traffic;
  expect(failures, `${failures.length} of ${answered + failures.length} calls failed`).toEqual([]);
  expect(answered).toBeGreaterThan(250);

  // The console never depended on that replica: a reload shows the Proxies page with both proxies connected.
  await page.reload();
  await expect(page.getByRole("heading", { name: "Proxies", level: 1 })).toBeVisible();
  for (const service of ["cart", "pricing"]) {
    const row = table
      .getByRole("row")
      .filter({ has: page.getByRole("link", { name: service, exact: true }) });
    await expect(row).toContainText("connected");
    await expect(row).toContainText("In sync");
  }
});
