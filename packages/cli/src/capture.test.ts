// `trellis proxy --capture`, the built CLI as a user runs it, in pods of the pod bed (network namespaces): apps
// that know nothing of the mesh — curl and Node's fetch calling service VIPs and plain addresses — are carried by
// their sidecars through iptables capture. Three pods: web (app + captured sidecar), reviews (HTTP app on 9080, a
// TCP echo on 7000, captured sidecar in permissive mode) and outside (no sidecar: a plain HTTP server, and a
// caller from outside the mesh).
import type { ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBed, unsupportedReason, type Bed, type Pod } from "@trellis/pods";

const BIN = fileURLToPath(new URL("../bin/trellis.js", import.meta.url));
const REVIEWS_VIP = "240.0.0.10";
const ECHO_VIP = "240.0.0.11";

const unsupported = unsupportedReason();
if (unsupported && process.env.CI) throw new Error(`CI must run the capture tests: ${unsupported}`);

/** A Node program run in a pod: an HTTP server answering `name` and the path, or a TCP echo. */
const HTTP_APP = (name: string, port: number) =>
  `require("node:http").createServer((q, s) => s.end(${JSON.stringify(name)} + " " + q.url + " host=" + q.headers.host)).listen(${port}, "0.0.0.0", () => console.log("listening"))`;
const ECHO_APP = (port: number) =>
  `require("node:net").createServer((c) => c.pipe(c)).listen(${port}, "0.0.0.0", () => console.log("listening"))`;

describe.skipIf(unsupported !== undefined)("trellis proxy --capture, in pods", () => {
  let bed: Bed;
  let web: Pod;
  let reviews: Pod;
  let outside: Pod;
  const dir = mkdtempSync(join(tmpdir(), "trellis-capture-"));
  const sidecars = new Map<Pod, { child: ChildProcess; log: () => string }>();

  function started(child: ChildProcess, marker: string): Promise<() => string> {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (out += c.toString()));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not started within 20 s:\n${out}`)), 20_000);
      const check = () => {
        if (out.includes(marker)) {
          clearTimeout(timer);
          resolve(() => out);
        }
      };
      child.stdout?.on("data", check);
      child.stderr?.on("data", check);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${code} before starting:\n${out}`));
      });
    });
  }

  async function sidecar(pod: Pod, config: object): Promise<void> {
    const file = join(dir, `${pod.name}.json`);
    writeFileSync(file, JSON.stringify(config));
    const child = pod.spawn(process.execPath, [BIN, "proxy", "--config", file, "--capture"]);
    const log = await started(child, "in force");
    sidecars.set(pod, { child, log });
  }

  /** Stops a pod's sidecar with SIGTERM; returns its log. */
  async function stopSidecar(pod: Pod): Promise<string> {
    const s = sidecars.get(pod);
    if (!s) return "";
    sidecars.delete(pod);
    const exited = new Promise((r) => s.child.once("exit", r));
    s.child.kill("SIGTERM");
    await exited;
    return s.log();
  }

  const webConfig = (outboundTrafficPolicy: "allowAny" | "registryOnly") => ({
    version: `w-${outboundTrafficPolicy}`,
    identity: { namespace: "shop", service: "web", version: "v1", trustDomain: "trellis.test" },
    outboundTrafficPolicy,
    services: [
      {
        name: "reviews",
        namespace: "shop",
        port: 9080,
        vip: REVIEWS_VIP,
        // Plain text to reviews' sidecar, which is permissive: this test is about capture, not mTLS.
        mtls: false,
        endpoints: [{ address: `${reviews.ip}:15006`, version: "v1" }],
      },
      {
        name: "echo",
        namespace: "shop",
        protocol: "tcp",
        port: 7000,
        vip: ECHO_VIP,
        mtls: false,
        endpoints: [{ address: `${reviews.ip}:7000`, version: "v1" }],
      },
    ],
  });

  const curl = (pod: Pod, args: string[]) =>
    pod.exec("curl", ["-sS", "--max-time", "5", ...args], { check: false, timeoutMs: 10_000 });

  beforeAll(async () => {
    bed = await createBed({ name: "capture" });
    [web, reviews, outside] = await Promise.all([
      bed.addPod({ name: "cap-web" }),
      bed.addPod({ name: "cap-reviews" }),
      bed.addPod({ name: "cap-outside" }),
    ]);
    await Promise.all([
      started(reviews.spawn(process.execPath, ["-e", HTTP_APP("reviews", 9080)]), "listening"),
      started(reviews.spawn(process.execPath, ["-e", ECHO_APP(7000)]), "listening"),
      started(outside.spawn(process.execPath, ["-e", HTTP_APP("outside", 8080)]), "listening"),
    ]);
    await sidecar(reviews, {
      version: "r1",
      identity: { namespace: "shop", service: "reviews", version: "v1", trustDomain: "trellis.test" },
      inbound: { appPort: 9080, tcpPorts: [7000], mtlsMode: "permissive" },
    });
    // The pod's resolver is its sidecar (which --capture starts on 127.0.0.1:53), as in Kubernetes' search list.
    await web.setResolvConf("nameserver 127.0.0.1\nsearch shop.svc svc\n");
    await sidecar(web, webConfig("allowAny"));
  }, 60_000);

  afterAll(async () => {
    for (const pod of [...sidecars.keys()]) await stopSidecar(pod).catch(() => {});
    await bed?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("carries curl's call to a service VIP through both sidecars", async () => {
    const r = await curl(web, [`http://${REVIEWS_VIP}:9080/hello`]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`reviews /hello host=${REVIEWS_VIP}:9080`);
    // Counted by web's sidecar as a call to shop/reviews.
    const metrics = await curl(web, ["http://127.0.0.1:15000/stats/prometheus"]);
    expect(metrics.stdout).toMatch(/trellis_requests_total\{[^}]*destination_service="reviews"[^}]*\} [1-9]/);
  });

  it("carries Node's fetch (undici) too, and a TCP connection to a TCP service's VIP", async () => {
    const fetched = await web.exec(
      process.execPath,
      ["-e", `fetch("http://${REVIEWS_VIP}:9080/f").then((r) => r.text()).then(console.log)`],
      { timeoutMs: 10_000 },
    );
    expect(fetched.stdout.trim()).toBe(`reviews /f host=${REVIEWS_VIP}:9080`);
    const echoed = await web.exec(
      process.execPath,
      [
        "-e",
        `const c = require("node:net").connect(7000, "${ECHO_VIP}", () => c.end("ping")); c.on("data", (d) => process.stdout.write(d))`,
      ],
      { timeoutMs: 10_000 },
    );
    expect(echoed.stdout).toBe("ping");
  });

  it("resolves service names for unchanged apps: glibc (getent, curl) and Node's lookup get the VIP", async () => {
    expect((await web.exec("getent", ["hosts", "reviews.shop"])).stdout).toMatch(/^240\.0\.0\.10\s/);
    // A bare name, through the search list.
    const bare = await curl(web, ["http://reviews:9080/by-name"]);
    expect(bare.stderr).toBe("");
    expect(bare.stdout).toBe("reviews /by-name host=reviews:9080");
    const fetched = await web.exec(
      process.execPath,
      ["-e", `fetch("http://reviews.shop.svc.cluster.local:9080/n").then((r) => r.text()).then(console.log)`],
      { timeoutMs: 10_000 },
    );
    expect(fetched.stdout.trim()).toBe("reviews /n host=reviews.shop.svc.cluster.local:9080");
    // A name the mesh does not know, in its zone: no such host.
    const unknown = await curl(web, ["http://nothere.shop.svc:9080/"]);
    expect(unknown.stderr).toContain("Could not resolve host");
  });

  it("routes HTTP by Host when it names a service, whatever address was dialled", async () => {
    const r = await curl(web, ["-H", "Host: reviews.shop", `http://${outside.ip}:8080/by-host`]);
    expect(r.stdout).toBe("reviews /by-host host=reviews.shop");
  });

  it("passes other destinations through (allowAny), counted under destination unknown", async () => {
    const r = await curl(web, [`http://${outside.ip}:8080/plain`]);
    expect(r.stdout).toBe(`outside /plain host=${outside.ip}:8080`);
    const metrics = await curl(web, ["http://127.0.0.1:15000/stats/prometheus"]);
    expect(metrics.stdout).toMatch(/destination_service="unknown"[^}]*protocol="tcp"[^}]*\} [1-9]/);
  });

  it("lets a caller from outside the mesh reach a permissive workload's app port through its sidecar", async () => {
    const r = await curl(outside, [`http://${reviews.ip}:9080/from-outside`]);
    expect(r.stdout).toBe(`reviews /from-outside host=${reviews.ip}:9080`);
    const metrics = await curl(reviews, ["http://127.0.0.1:15000/stats/prometheus"]);
    expect(metrics.stdout).toMatch(/direction="inbound"[^}]*\} [1-9]/);
  });

  it("refuses other destinations under registryOnly, says so once, and still carries the mesh's", async () => {
    await stopSidecar(web);
    await sidecar(web, webConfig("registryOnly"));
    const refused = await curl(web, [`http://${outside.ip}:8080/plain`]);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toBe("");
    expect(sidecars.get(web)!.log()).toContain(
      `DP_UNKNOWN_DESTINATION: refused a TCP connection to ${outside.ip}:8080`,
    );
    const ok = await curl(web, [`http://${REVIEWS_VIP}:9080/still`]);
    expect(ok.stdout).toBe(`reviews /still host=${REVIEWS_VIP}:9080`);
  });

  it("removes its rules on exit, and the app's traffic flows uncaptured again", async () => {
    const before = await web.exec("iptables", ["-t", "nat", "-S"]);
    expect(before.stdout).toContain("TRELLIS_OUTPUT");
    const log = await stopSidecar(web);
    const after = await web.exec("iptables", ["-t", "nat", "-S"]);
    expect(after.stdout, log).not.toContain("TRELLIS");
    // By the drain, not by the exit hook that is there for when a drain fails.
    expect(log).toContain("trellis proxy: drained");
    const direct = await curl(web, [`http://${outside.ip}:8080/direct`]);
    expect(direct.stdout).toBe(`outside /direct host=${outside.ip}:8080`);
  });

  it("refuses to capture without root, in one line, and installs nothing", async () => {
    // Readable by nobody: the refusal must be about capture, not the file.
    chmodSync(dir, 0o755);
    const file = join(dir, "nobody.json");
    writeFileSync(file, JSON.stringify(webConfig("allowAny")), { mode: 0o644 });
    const r = await web.exec(process.execPath, [BIN, "proxy", "--config", file, "--capture"], {
      uid: 65534,
      gid: 65534,
      check: false,
      timeoutMs: 20_000,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("--capture: capture needs root");
    expect((await web.exec("iptables", ["-t", "nat", "-S"])).stdout).not.toContain("TRELLIS");
  });
});
