// `trellis up --demo --pods` as a user runs it (Linux, root): every demo workload in a pod of its own, apps
// unchanged and sidecars capturing. A real browser opens the demo through the ingress pod; the front page's
// parts come from pods that called each other by name, and its live ratings are a WebSocket from the ingress
// pod to the feed pod, which asks the ratings pod over gRPC. `trellis get proxies` shows the pods' addresses.
// Ctrl-C removes every pod.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "@playwright/test";
import type { TestDatabase } from "@trellis/db/testing";
import { unsupportedReason } from "@trellis/pods";
import { ADMIN_TOKEN } from "./fixtures";
import { freePort } from "./mesh-helpers";
import { run, stackEnvironment, type Proc } from "./processes";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "packages/cli/bin/trellis.js");
const unsupported = unsupportedReason();
if (unsupported && process.env.CI) throw new Error(`CI must run the demo in pods: ${unsupported}`);

const netnsNames = () => execFileSync("ip", ["netns", "list"], { encoding: "utf8" });

test.describe("the demo in pods", () => {
  test.skip(unsupported !== undefined, unsupported ?? "");

  let up: Proc | undefined;
  let tdb: TestDatabase | null = null;
  let home: string;
  let server: string;
  let demoPort: number;

  test.beforeAll(async () => {
    test.setTimeout(300_000);
    const stack = await stackEnvironment("pods");
    ({ home, tdb } = stack);
    const env = stack.env;
    const [port, cpPort, pgPort] = [await freePort(), await freePort(), await freePort()];
    demoPort = await freePort();
    server = `http://localhost:${port}`;
    up = run(
      process.execPath,
      [
        BIN,
        "up",
        "--demo",
        "--pods",
        ...["--port", String(port), "--cp-port", String(cpPort), "--pg-port", String(pgPort)],
        ...["--demo-port", String(demoPort)],
      ],
      { cwd: ROOT, env },
    );
    await up.until(/ready; press Ctrl-C to stop/, 240_000);
  });

  test.afterAll(async () => {
    if (up && up.child.exitCode === null) {
      up.child.kill("SIGINT");
      await up.exited;
    }
    await tdb?.drop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test("a browser opens the demo through the ingress pod; pods call each other by name", async ({ page }) => {
    const out = up!.output();
    const pods = [...out.matchAll(/demo pod (trellis-demo-[a-z0-9-]+)\s+(\d+\.\d+\.\d+\.\d+)/g)].map((m) => ({
      name: m[1]!,
      ip: m[2]!,
    }));
    expect(pods.map((p) => p.name).sort(), out).toEqual([
      "trellis-demo-details-v1",
      "trellis-demo-feed-v1",
      "trellis-demo-ingress-v1",
      "trellis-demo-productpage-v1",
      "trellis-demo-ratings-v1",
      "trellis-demo-reviews-v1",
      "trellis-demo-reviews-v2",
      "trellis-demo-reviews-v3",
    ]);
    expect(out).toContain(`demo: open http://localhost:${demoPort} (productpage)`);

    await page.goto(`http://localhost:${demoPort}/productpage`);
    await expect(page.getByText("Served by reviews-v1")).toBeVisible();
    await expect(page.getByText("William Shakespeare", { exact: true })).toBeVisible(); // details, called by name
    await expect(page.getByText(/Error fetching/)).toHaveCount(0);
    // The live feed: WebSocket ingress pod → feed pod, each message a gRPC call feed pod → ratings pod.
    await expect(page.locator("#live")).toContainText("Reviewer1 ★★★★★", { timeout: 30_000 });

    // The proxies registered with their pods' addresses, as `trellis get proxies` shows.
    const listed = JSON.parse(
      execFileSync(process.execPath, [BIN, "get", "proxies", "-n", "demo", "-o", "json"], {
        encoding: "utf8",
        env: { ...process.env, TRELLIS_SERVER: server, TRELLIS_TOKEN: ADMIN_TOKEN },
      }),
    ) as { service: string; version: string; address: string; status: string }[];
    const connected = listed.filter((p) => p.status === "connected");
    expect(connected).toHaveLength(8);
    for (const p of connected) {
      const pod = pods.find((x) => x.name === `trellis-demo-${p.service}-${p.version}`);
      expect(p.address, `${p.service} ${p.version}`).toBe(`${pod?.ip}:15006`);
    }
  });

  test("Ctrl-C stops the stack and removes every pod", async () => {
    expect(netnsNames()).toContain("trellis-demo-reviews-v2");
    up!.child.kill("SIGINT");
    expect(await up!.exited).toBe(0);
    expect(netnsNames()).not.toContain("trellis-demo-");
  });
});
