// Test helpers: a real Node HTTP server in a pod, a real client in another, and what a bed left behind.
// Traffic goes only to the bed's own addresses (and the root namespace's, which stays on this machine).
import { execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { STATE_DIR } from "../state.js";
import type { Pod } from "../pod.js";

const SERVER = `
const [name, port] = process.argv.slice(1);
require("node:http")
  .createServer((req, res) => res.end(name))
  .listen(Number(port), "0.0.0.0", () => console.log("ready"));
`;

/** Starts an HTTP server in `pod` on 0.0.0.0:`port` answering with the pod's name; resolves once it listens. */
export function serveIn(pod: Pod, port = 8080): Promise<ChildProcess> {
  const child = pod.spawn(process.execPath, ["-e", SERVER, pod.name, String(port)]);
  return new Promise((resolve, reject) => {
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout?.on("data", (d: Buffer) => {
      if (d.toString().includes("ready")) resolve(child);
    });
    child.once("exit", (code, signal) =>
      reject(new Error(`server in ${pod.name} exited (${code ?? signal}): ${stderr}`)),
    );
  });
}

const CLIENT = `
const [url, timeout] = process.argv.slice(1);
const out = (r) => { process.stdout.write(JSON.stringify(r)); };
const req = require("node:http").get(url, { timeout: Number(timeout) }, (res) => {
  let body = "";
  res.setEncoding("utf8").on("data", (d) => (body += d)).on("end", () => out({ ok: true, body }));
});
req.on("timeout", () => req.destroy(Object.assign(new Error("timed out"), { code: "TIMEOUT" })));
req.on("error", (e) => out({ ok: false, code: e.code }));
`;

export type Probe = { ok: true; body: string } | { ok: false; code: string };

/**
 * GET `url` from inside `pod` (or from this process when `pod` is undefined), giving up after `timeoutMs`.
 * `{ ok: false, code: "TIMEOUT" }` is what a dropped packet looks like; ECONNREFUSED a refused one.
 */
export async function probe(pod: Pod | undefined, url: string, timeoutMs = 1_000): Promise<Probe> {
  if (!pod) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      return { ok: true, body: await res.text() };
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      return { ok: false, code: err.name === "TimeoutError" ? "TIMEOUT" : (err.cause?.code ?? err.message) };
    }
  }
  const { stdout } = await pod.exec(process.execPath, ["-e", CLIENT, url, String(timeoutMs)], {
    timeoutMs: timeoutMs + 15_000,
  });
  return JSON.parse(stdout) as Probe;
}

/** Everything of bed `id` (and of the named pods) still on the machine; [] when nothing is left. */
export function leftovers(id: string, podNames: readonly string[]): string[] {
  const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((ns) => ns === `tpb${id}` || podNames.includes(ns));
  const links = execFileSync("ip", ["-o", "link"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes(`tpb${id}`));
  const files = [`${STATE_DIR}/${id}.json`, ...podNames.map((p) => `/etc/netns/${p}`)].filter((f) =>
    existsSync(f),
  );
  return [
    ...namespaces.map((n) => `netns ${n}`),
    ...links.map((l) => `link ${l}`),
    ...files.map((f) => `file ${f}`),
  ];
}

/** Whether a process is still running (a zombie counts as gone: it holds nothing). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\S+ \(.*\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

/**
 * Why the integration tests cannot run here, or undefined. In CI they must run (CI runs as root): there a
 * reason is an error, not a skip.
 */
export function bedTestsUnavailable(reason: string | undefined): string | undefined {
  if (reason && process.env.CI) throw new Error(`the pod bed tests must run in CI, but: ${reason}`);
  return reason;
}
