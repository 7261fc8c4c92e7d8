// The capture benchmark (`npm run bench:capture`, bench/capture.mjs), run briefly as a user runs it: a few
// hundred requests per path. Not a measurement (timings are the benchmark's business, printed side by side
// with the direct path): it asserts that the benchmark works and measures what it says. Its table has a row per
// path with finite numbers, no request failed, and the captured path was really captured: the app dialled the
// service's VIP (from its sidecar's DNS), the server app got those requests from its own sidecar over mTLS
// (the server sidecar's counters) and never from the client pod, the client sidecar routed every one. If
// capture, the sidecars' DNS or the benchmark's paths broke, this fails.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { list, unsupportedReason } from "@trellis/pods";

const BENCH = fileURLToPath(new URL("../bench/capture.mjs", import.meta.url));
const PATHS = ["direct", "explicit", "captured"] as const;
const ROW = {
  direct: "direct (pod → pod)",
  explicit: "mesh, explicit (app → 127.0.0.1:15001)",
  captured: "mesh, captured (app → server.bench:9080)",
};

const unsupported = unsupportedReason();
if (unsupported && process.env.CI) throw new Error(`CI must run the capture benchmark: ${unsupported}`);

interface PathSummary {
  p50: number;
  p99: number;
  addedP50: number[];
  addedP99: number[];
  sidecarsUsPerReq: number;
  addedCpuUsPerReq: number[];
  rps: number;
  sidecarsUsPerReqLoaded: number;
  addedCpuUsPerReqLoaded: number[];
  requests: number;
  errors: number;
}
interface Results {
  paths: Record<(typeof PATHS)[number], PathSummary>;
  capture: Record<string, number[]>;
  checks: { what: string; ok: boolean }[];
  evidence: {
    serviceVip: string | null;
    peers: Record<string, Record<string, number>>;
    sent: Record<string, number>;
    serverApp: Record<string, number>;
    clientSidecar: { outbound200: number; dnsMesh: number };
    serverSidecar: { inboundMtls200: number };
  };
}

describe.skipIf(unsupported !== undefined)("the capture benchmark (npm run bench:capture)", () => {
  const dir = mkdtempSync(join(tmpdir(), "trellis-capture-bench-test-"));
  const jsonFile = join(dir, "results.json");
  let code: number | null = null;
  let stdout = "";
  let stderr = "";
  let results: Results;

  beforeAll(async () => {
    const child = spawn(process.execPath, [BENCH], {
      env: {
        ...process.env,
        BENCH_ROUNDS: "2",
        BENCH_REQUESTS: "150",
        BENCH_SECONDS: "0.5",
        BENCH_CONCURRENCY: "8",
        BENCH_JSON: jsonFile,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    // The benchmark removes its pods, sidecars and database on SIGTERM; SIGKILL only if that hangs (the next
    // bed's sweep then removes the pods).
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
    }, 100_000);
    code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    clearTimeout(timer);
    results = JSON.parse(readFileSync(jsonFile, "utf8")) as Results;
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("exits 0 and prints one row per path and the cost of capture itself", () => {
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    for (const path of PATHS) expect(stdout).toContain(`| ${ROW[path]} |`);
    expect(stdout).toMatch(/^\| the cost of capture itself \|/m);
  });

  it("fills the table with finite numbers and no errors, for all three paths", () => {
    for (const path of PATHS) {
      const row = stdout.split("\n").find((l) => l.startsWith(`| ${ROW[path]} |`))!;
      const cells = row.split("|").slice(2, -1);
      // Every cell holds numbers (or "—" where a column does not apply to direct), and nothing is NaN.
      for (const cell of cells) expect(cell, `${path}: ${row}`).toMatch(/^ (—|[-+\d. /()…]+) $/);
      const s = results.paths[path];
      const numbers = [
        s.p50,
        s.p99,
        s.sidecarsUsPerReq,
        s.rps,
        s.sidecarsUsPerReqLoaded,
        ...s.addedP50,
        ...s.addedP99,
        ...s.addedCpuUsPerReq,
        ...s.addedCpuUsPerReqLoaded,
      ];
      for (const n of numbers) expect(Number.isFinite(n), `${path}: ${JSON.stringify(s)}`).toBe(true);
      expect(s.p50).toBeGreaterThan(0);
      expect(s.errors, path).toBe(0);
      expect(s.requests, path).toBeGreaterThanOrEqual(2 * 150);
    }
    for (const xs of Object.values(results.capture))
      for (const x of xs) expect(Number.isFinite(x), JSON.stringify(results.capture)).toBe(true);
  });

  it("shows that the captured path was captured, and each path went the way it says", () => {
    const e = results.evidence;
    const mesh = e.sent.explicit! + e.sent.captured!;
    expect(e.serviceVip).toMatch(/^24\d\.\d+\.\d+\.\d+$/);
    // The app dialled the service's VIP, which only its sidecar's DNS gives and only capture serves.
    expect(Object.keys(e.peers.captured!)).toEqual([e.serviceVip]);
    expect(e.clientSidecar.dnsMesh).toBeGreaterThan(0);
    expect(Object.keys(e.peers.explicit!)).toEqual(["127.0.0.1"]);
    // Both mesh paths reached the app from its sidecar, over mTLS from the client's identity; direct from the pod.
    expect(e.clientSidecar.outbound200).toBe(mesh);
    expect(e.serverSidecar.inboundMtls200).toBe(mesh);
    const byPort = Object.entries(e.serverApp);
    expect(byPort.filter(([k]) => k.startsWith("9080 ")).map(([k, n]) => [k, n])).toEqual([
      ["9080 127.0.0.1", mesh],
    ]);
    expect(byPort.filter(([k]) => k.startsWith("9081 ")).map(([, n]) => n)).toEqual([e.sent.direct]);
    expect(results.checks.filter((c) => !c.ok)).toEqual([]);
  });

  it("leaves no pod behind", async () => {
    const id = /pods trellis-bench-([0-9a-f]{6})-client/.exec(stderr)?.[1];
    expect(id, stderr).toBeDefined();
    expect((await list()).beds.filter((b) => b.id === id)).toEqual([]);
    expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).not.toContain(`trellis-bench-${id}`);
    expect(stderr).not.toMatch(/while stopping/);
  });
});
