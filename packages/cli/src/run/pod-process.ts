// Processes in pods of the pod bed (@trellis/pods), as `trellis up --demo --pods` and the chaos tests run them:
// the `trellis` commands a user would run by hand (a sidecar with `trellis proxy --capture`, an app, a
// control-plane replica), each in a pod's network namespace, waited for until its output says it is ready.
// When to edit this: when a pod process needs something every caller needs too (an environment variable, a
// flag every sidecar in a pod takes). What one caller alone needs stays with that caller.
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Pod } from "@trellis/pods";

/** The built `trellis` command, run with this Node. */
export const TRELLIS_BIN = fileURLToPath(new URL("../../bin/trellis.js", import.meta.url));

/** How long a pod's process may take to say it is ready, by default. */
const START_TIMEOUT_MS = 90_000;

export interface PodProcess {
  child: ChildProcess;
  /** The last 20,000 characters it wrote (stdout and stderr). */
  output(): string;
}

export interface StartInPodOptions {
  /** Names it in messages: `reviews-v2 sidecar`. */
  what: string;
  /** What Node runs: `[TRELLIS_BIN, "proxy", …]`, a script and its arguments, or `["-e", program]`. */
  argv: string[];
  /** Added to a minimal environment (PATH, NODE_ENV): nothing of this process's own reaches the pod. */
  env?: Record<string, string>;
  /** Resolves once the output matches this. */
  ready: RegExp;
  timeoutMs?: number;
  /** Every non-empty line it writes. */
  onLine?: (line: string) => void;
  /** It exited after it was ready. */
  onExit?: (code: number | null) => void;
}

/**
 * Spawns Node in `pod` (detached: a terminal's Ctrl-C reaches the caller alone, which stops pods in its own
 * order); resolves once its output matches `ready`, rejects if it exits or times out first.
 */
export function startInPod(pod: Pod, opts: StartInPodOptions): Promise<PodProcess> {
  const child = pod.spawn(process.execPath, opts.argv, {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_ENV: "production", ...opts.env },
    detached: true,
  });
  let output = "";
  let partial = "";
  let started = false;
  const onData = (c: Buffer) => {
    const text = c.toString();
    output = (output + text).slice(-20_000);
    if (!opts.onLine) return;
    const lines = (partial + text).split("\n");
    partial = lines.pop()!;
    for (const l of lines) if (l.trim() !== "") opts.onLine(l);
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const timeoutMs = opts.timeoutMs ?? START_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${opts.what} did not start within ${timeoutMs / 1000} s:\n${output}`)),
      timeoutMs,
    );
    const check = () => {
      if (started || !opts.ready.test(output)) return;
      started = true;
      clearTimeout(timer);
      resolve({ child, output: () => output });
    };
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (started) opts.onExit?.(code);
      else reject(new Error(`${opts.what} exited with ${code} before it started:\n${output}`));
    });
  });
}

export interface PodSidecar {
  /** The control-plane replicas, in the order the sidecar tries them. */
  controlPlanes: readonly string[];
  namespace: string;
  service: string;
  version: string;
  appPort: number;
  appProtocol?: "http1" | "h2c";
  /** Raw TCP app ports (`--tcp-port`). */
  tcpPorts?: readonly number[];
  /** The pod's address, where other sidecars reach this one. */
  advertiseAddress: string;
  labels?: Record<string, string>;
  /** false: `--no-capture-inbound` (a gateway whose app takes traffic from outside the mesh). */
  captureInbound?: boolean;
  /** `--control-plane-timeout`, e.g. `2s`. */
  controlPlaneTimeout?: string;
}

/**
 * The arguments of `trellis proxy` for a sidecar in a pod: it joins the mesh and captures the pod's traffic
 * (its DNS on 127.0.0.1:53, where the pod's resolv.conf points). The join token goes in the environment
 * (`TRELLIS_JOIN_TOKEN`), never on a command line where `ps` shows it.
 */
export function podSidecarArgv(s: PodSidecar): string[] {
  return [
    TRELLIS_BIN,
    "proxy",
    ...["--control-plane", s.controlPlanes.join(",")],
    ...(s.controlPlaneTimeout !== undefined ? ["--control-plane-timeout", s.controlPlaneTimeout] : []),
    ...["--namespace", s.namespace, "--service", s.service, "--version", s.version],
    ...["--app-port", String(s.appPort), "--app-protocol", s.appProtocol ?? "http1"],
    ...(s.tcpPorts ?? []).flatMap((p) => ["--tcp-port", String(p)]),
    ...["--advertise-address", s.advertiseAddress],
    ...Object.entries(s.labels ?? {}).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
    "--capture",
    ...(s.captureInbound === false ? ["--no-capture-inbound"] : []),
  ];
}

/** What a sidecar started with `podSidecarArgv` prints once it is in the mesh with its first config. */
export const SIDECAR_READY = /in the mesh, config/;
