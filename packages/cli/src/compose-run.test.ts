// docker-compose.yml's demo, run as processes on one host: the control plane, demo-seed and the pods' apps and
// sidecars run the very commands their containers would (read from the file), with only what Docker provides
// swapped for one host: each pod's ports for free ones (a pod has a network namespace of its own), compose's
// DNS names for 127.0.0.1, the volume for a temporary file and the database for a test database. Traffic must
// flow from the traffic generator through its sidecar, over mTLS, to productpage and reviews v1 only.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { demoPods, loadCompose, podPorts, type Pod } from "./test-support/compose.js";
import { freePorts } from "@trellis/dataplane/testing";

const BIN = fileURLToPath(new URL("../bin/trellis.js", import.meta.url));

// The pods a request to the front page touches while the seeded Route sends all reviews traffic to v1, plus
// reviews v2 (joined, so the Route has something to keep traffic away from), and the live feed's WebSocket
// with the gRPC calls it makes to ratings. reviews v3 would add two more processes and nothing this test can
// see; compose.test.ts checks its commands.
const PODS = ["traffic", "ingress", "productpage", "details", "reviews-v1", "reviews-v2", "feed", "ratings"];

interface Proc {
  name: string;
  child: ChildProcess;
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const procs: Proc[] = [];
let db: TestDatabase;
let dir: string;
const local = new Map<string, ReturnType<typeof podPorts>>();

function run(name: string, argv: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...argv], {
    env: { ...process.env, TRELLIS_JOIN_TOKEN: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once("exit", (code, signal) => r({ code, signal })),
  );
  const p = { name, child, out: () => out, exited };
  procs.push(p);
  return p;
}

/**
 * `argv` with the values of some flags swapped (`--port 9080` → `--port 40123`) and others added when the
 * command leaves them at their default. Only the `--flag value` form: that is how the compose file spells them.
 */
function withFlags(
  argv: string[],
  swap: Record<string, (value: string) => string>,
  add: Record<string, string> = {},
): string[] {
  const out = [...argv];
  for (let i = 0; i < out.length; i++) {
    if (out[i]!.startsWith("--") && out[i]!.includes("="))
      throw new Error(`spell ${out[i]} as two arguments`);
    const f = swap[out[i]!];
    if (f) out[i + 1] = f(out[i + 1]!);
  }
  for (const [flag, value] of Object.entries(add)) if (!out.includes(flag)) out.push(flag, value);
  return out;
}

/** GET on 127.0.0.1; status 0 when nothing answered. */
function get(
  port: number,
  path: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path, timeout: 5_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve({ status: 0, headers: {}, body: "" }));
    req.end();
  });
}

/** Requests a sidecar counted (its admin listener's Prometheus text) whose labels include all of `labels`. */
async function counted(pod: string, labels: Record<string, string>): Promise<number> {
  const { body } = await get(local.get(pod)!.admin, "/stats/prometheus");
  let n = 0;
  for (const line of body.split("\n")) {
    if (!line.startsWith("trellis_requests_total{")) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      n += Number(line.split(" ").at(-1));
  }
  return n;
}

beforeAll(async () => {
  const services = loadCompose();
  const pods = demoPods(services);
  db = await createTestDatabase("cli_compose");
  dir = mkdtempSync(join(tmpdir(), "trellis-compose-"));
  const tokenFile = join(dir, "demo-join-token");
  const [cpPort] = await freePorts(1);

  // The control plane and demo-seed start together, as compose starts them: the seed waits for the CA.
  const cp = services.get("controlplane")!;
  run(
    "controlplane",
    withFlags(cp.command!, { "--host": () => "127.0.0.1", "--port": () => String(cpPort) }),
    {
      ...cp.environment,
      DATABASE_URL: db.url,
      TRELLIS_SECRET: "compose-run-test-secret-0123456789abcdef",
      TRELLIS_ADMIN_PASSWORD: "compose-run-test-admin-password",
    },
  );
  const seed = services.get("demo-seed")!;
  const seeding = run("demo-seed", withFlags(seed.command!, { "--token-file": () => tokenFile }), {
    DATABASE_URL: db.url,
  });

  const chosen = PODS.map((name) => pods.get(name)).filter((p): p is Pod => p !== undefined);
  expect(chosen.map((p) => p.name)).toEqual(PODS);
  const free = await freePorts(chosen.length * 4);
  const started = chosen.map((pod, i) => {
    const inPod = podPorts(pod);
    const ports = {
      app: free[4 * i]!,
      inbound: free[4 * i + 1]!,
      outbound: free[4 * i + 2]!,
      admin: free[4 * i + 3]!,
    };
    local.set(pod.name, ports);
    // The pod's own ports, as the compose file gives them, to this host's free ones.
    const map = new Map<number, number>(
      (Object.keys(inPod) as (keyof typeof inPod)[]).map((k) => [inPod[k], ports[k]]),
    );
    const port = (v: string) => String(map.get(Number(v)) ?? Number.NaN);
    const app = withFlags(
      pod.app.command!,
      {
        "--port": port,
        "--outbound-port": port,
        "--host": () => "127.0.0.1",
        "--via": (v) => `127.0.0.1:${port(v.split(":").at(-1)!)}`,
      },
      pod.app.parsed.path[1] === "app" ? { "--outbound-port": String(ports.outbound) } : {},
    );
    const sidecar = withFlags(
      pod.sidecar.command!,
      {
        "--control-plane": () => `https://127.0.0.1:${cpPort}`,
        "--token-file": () => tokenFile,
        "--advertise-address": () => "127.0.0.1",
        "--app-port": port,
        "--inbound-port": port,
        "--outbound-port": port,
        "--admin-port": port,
      },
      {
        "--inbound-port": String(ports.inbound),
        "--outbound-port": String(ports.outbound),
        "--admin-port": String(ports.admin),
      },
    );
    return { pod, app, sidecar };
  });
  for (const s of started) run(s.pod.name, s.app);

  // The sidecars wait for demo-seed, as in compose (depends_on: service_completed_successfully).
  const seeded = await seeding.exited;
  expect(seeded, seeding.out()).toEqual({ code: 0, signal: null });
  expect(seeding.out()).toContain("seeded MeshSettings/trellis-system/mesh, Route/demo/reviews");
  for (const s of started) run(`${s.pod.name}-sidecar`, s.sidecar);
}, 180_000);

afterAll(async () => {
  for (const p of procs)
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.exited));
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("docker-compose.yml's demo, one process per container", () => {
  it("joins every sidecar to the mesh with the seeded join token", async () => {
    for (const name of PODS) {
      const p = procs.find((x) => x.name === `${name}-sidecar`)!;
      await expect.poll(() => p.out(), { timeout: 60_000, interval: 200 }).toMatch(/ in the mesh, config /);
    }
  }, 90_000);

  it("carries the traffic generator's requests through its sidecar to productpage, answered by reviews v1 only", async () => {
    const stats = async () =>
      JSON.parse((await get(local.get("traffic")!.app, "/stats")).body || "{}") as {
        ok?: number;
        byOutcome?: Record<string, number>;
      };
    // Endpoints arrive as the workloads join: wait for a run of good front pages.
    await expect
      .poll(async () => (await stats()).ok ?? 0, { timeout: 60_000, interval: 250 })
      .toBeGreaterThanOrEqual(5);
    const versions = Object.keys((await stats()).byOutcome ?? {}).filter((k) => k.startsWith("reviews-"));
    expect(versions).toEqual(["reviews-v1"]);

    // Seen by the sidecars themselves: traffic → productpage and productpage → reviews v1, all over mTLS.
    const mesh = { source_namespace: "demo", destination_namespace: "demo", code: "200" };
    expect(
      await counted("traffic", {
        ...mesh,
        direction: "outbound",
        source_service: "traffic",
        destination_service: "productpage",
        mtls: "true",
      }),
    ).toBeGreaterThan(0);
    expect(
      await counted("productpage", {
        ...mesh,
        direction: "inbound",
        source_service: "traffic",
        mtls: "true",
      }),
    ).toBeGreaterThan(0);
    expect(
      await counted("reviews-v1", {
        ...mesh,
        direction: "inbound",
        source_service: "productpage",
        mtls: "true",
      }),
    ).toBeGreaterThan(0);
    expect(await counted("reviews-v2", { direction: "inbound" })).toBe(0);
  }, 90_000);

  it("holds the generator's WebSocket sessions with the feed, which asks ratings over gRPC, all through sidecars", async () => {
    const feed = async () =>
      (
        JSON.parse((await get(local.get("traffic")!.app, "/stats")).body || "{}") as {
          feed?: { answered: number };
        }
      ).feed?.answered ?? 0;
    await expect.poll(feed, { timeout: 60_000, interval: 250 }).toBeGreaterThanOrEqual(3);
    const mtls = { source_namespace: "demo", destination_namespace: "demo", mtls: "true" };
    expect(
      await counted("feed", {
        ...mtls,
        direction: "inbound",
        source_service: "traffic",
        protocol: "websocket",
      }),
    ).toBeGreaterThan(0);
    expect(
      await counted("ratings", {
        ...mtls,
        direction: "inbound",
        source_service: "feed",
        protocol: "grpc",
        code: "200",
      }),
    ).toBeGreaterThan(0);
  }, 90_000);

  it("serves the front page through the ingress, as a browser would open it", async () => {
    const page = await get(local.get("ingress")!.app, "/productpage");
    expect(page.status).toBe(200);
    expect(page.headers["x-demo-reviews"]).toBe("reviews-v1");
    expect(page.body).toContain("William Shakespeare");
    expect(
      await counted("productpage", { direction: "inbound", source_service: "ingress", mtls: "true" }),
    ).toBeGreaterThan(0);
  });

  it("keeps the apps behind their sidecars: strict mTLS refuses a plain request to a sidecar's inbound port", async () => {
    const plain = await get(local.get("details")!.inbound, "/details/0");
    expect([plain.status, plain.headers["x-trellis-error"]]).toEqual([403, "DP_MTLS_REQUIRED"]);
  });

  it("stops every container's process cleanly on SIGTERM, as `docker compose down` does", async () => {
    const running = procs.filter((p) => p.child.exitCode === null);
    expect(running.length).toBe(1 + 2 * PODS.length);
    for (const p of running) p.child.kill("SIGTERM");
    for (const p of running)
      expect(await p.exited, `${p.name}\n${p.out()}`).toEqual({ code: 0, signal: null });
  }, 60_000);
});
