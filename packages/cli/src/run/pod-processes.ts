// `trellis` commands run in pods of the pod bed (@trellis/pods), as a user would run them by hand in a pod: a
// sidecar (`trellis proxy --control-plane … --capture`) and its app. Started with a minimal environment, waited
// for until they say they are ready, stopped with SIGTERM (a sidecar then drains and removes its rules).
// Used by `trellis up --demo --pods` (demo-pods.ts), the capture benchmark (bench/capture.mjs) and the chaos
// tests (chaos.test.ts), so all run the same processes the same way.
//
// When to edit this: when the way a pod's sidecar is started changes (a flag every pod's sidecar needs).
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Pod } from "@trellis/pods";

/** The `trellis` executable of this checkout. */
export const TRELLIS_BIN = fileURLToPath(new URL("../../bin/trellis.js", import.meta.url));

/** How long a pod's process may take to say it is ready (a sidecar: to join the mesh). */
export const POD_START_TIMEOUT_MS = 90_000;

export interface PodProcessOptions {
  /** Names the process in what it logs and in errors: `demo reviews-v2 sidecar`. */
  what: string;
  /** The command line; the executable is `command` (default: node with TRELLIS_BIN first, i.e. `trellis`). */
  args: string[];
  command?: string;
  /** Added to the minimal environment (PATH, NODE_ENV): a sidecar's join token, never on a command line. */
  env?: Record<string, string>;
  /** Resolves once the process's output matches this. */
  ready: RegExp;
  /** How long it may take to be ready (default POD_START_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Lines worth showing a person (failures); every line with `verbose`. Without it, `onLine` sees every line. */
  log?: (line: string) => void;
  verbose?: boolean;
  /** Every line it writes (a test keeps them); instead of `log`. */
  onLine?: (line: string) => void;
  /** Called when the process exits after it was ready (before: the start rejects). */
  exited?: (what: string, code: number | null) => void;
}

export interface PodProcess {
  child: ChildProcess;
  /** The last 20,000 characters it wrote (stdout and stderr). */
  output: () => string;
}

/** Spawns a process in `pod`; resolves once its output matches `ready`, rejects if it exits or times out first. */
export function startInPod(pod: Pod, opts: PodProcessOptions): Promise<PodProcess> {
  const { what } = opts;
  const [command, args] =
    opts.command === undefined ? [process.execPath, [TRELLIS_BIN, ...opts.args]] : [opts.command, opts.args];
  // A minimal environment: the pod's processes get no database URL or secret of this one's. Detached: Ctrl-C
  // in the terminal reaches the process that owns the pods alone, which stops them in its own order.
  const child = pod.spawn(command, args, {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_ENV: "production", ...opts.env },
    detached: true,
  });
  let output = "";
  let started = false;
  const onLine =
    opts.onLine ??
    ((line: string) => {
      if (opts.verbose || /failed|refused|invalid|error|cannot/i.test(line)) opts.log?.(`${what}: ${line}`);
    });
  let partial = "";
  const onData = (c: Buffer) => {
    const text = c.toString();
    output = (output + text).slice(-20_000);
    const lines = (partial + text).split("\n");
    partial = lines.pop()!;
    for (const l of lines) if (l.trim() !== "") onLine(l);
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  return new Promise((resolve, reject) => {
    const timeoutMs = opts.timeoutMs ?? POD_START_TIMEOUT_MS;
    const timer = setTimeout(
      () => reject(new Error(`${what} did not start within ${timeoutMs / 1000} s:\n${output}`)),
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
      if (started) opts.exited?.(what, code);
      else reject(new Error(`${what} exited with ${code} before it started:\n${output}`));
    });
  });
}

/** The output line by which a mesh sidecar says it has joined and has its first config. */
export const SIDECAR_READY = /in the mesh, config/;

export interface PodSidecar {
  /** The control-plane replicas (`https://<bed gateway>:<port>`, …), in the order the sidecar tries them. */
  controlPlanes: readonly string[];
  /** `--control-plane-timeout`, e.g. `2s`. */
  controlPlaneTimeout?: string;
  namespace: string;
  service: string;
  version: string;
  appPort: number;
  appProtocol?: "http1" | "h2c";
  /** Raw TCP app ports (`--tcp-port`). */
  tcpPorts?: readonly number[];
  /** The pod's own address, which other sidecars dial. */
  pod: Pod;
  labels?: Record<string, string>;
  /** false: `--no-capture-inbound`, for an app whose callers are outside the mesh (a gateway, a client). */
  captureInbound?: boolean;
  /** Outbound ports the capture leaves alone (`--capture-exclude-port`). */
  captureExcludePorts?: number[];
}

/**
 * `trellis proxy …` for a pod: in the mesh, registered with the pod's address, capturing the pod's TCP and
 * answering its DNS (the pod's resolv.conf points at 127.0.0.1). The join token goes in TRELLIS_JOIN_TOKEN.
 */
export function podSidecarArgs(s: PodSidecar): string[] {
  return [
    "proxy",
    ...["--control-plane", s.controlPlanes.join(",")],
    ...(s.controlPlaneTimeout !== undefined ? ["--control-plane-timeout", s.controlPlaneTimeout] : []),
    ...["--namespace", s.namespace, "--service", s.service, "--version", s.version],
    ...["--app-port", String(s.appPort), "--app-protocol", s.appProtocol ?? "http1"],
    ...(s.tcpPorts ?? []).flatMap((p) => ["--tcp-port", String(p)]),
    ...["--advertise-address", s.pod.ip],
    ...Object.entries(s.labels ?? {}).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
    "--capture",
    ...(s.captureInbound === false ? ["--no-capture-inbound"] : []),
    ...(s.captureExcludePorts ?? []).flatMap((p) => ["--capture-exclude-port", String(p)]),
  ];
}

/** The pod's resolver is its sidecar (which --capture starts on 127.0.0.1:53); bare names through the search list. */
export const podResolvConf = (namespace: string): string =>
  `nameserver 127.0.0.1\nsearch ${namespace}.svc svc\n`;

/**
 * SIGTERM to every process still running (sidecars drain and remove their capture rules, apps close), and
 * waits for them up to `graceMs`. Whatever is left the bed kills by PID when it removes the pods.
 */
export async function stopPodProcesses(processes: readonly ChildProcess[], graceMs = 2_000): Promise<void> {
  const ends = processes
    .filter((c) => c.exitCode === null && c.signalCode === null)
    .map((c) => new Promise<void>((r) => (c.once("exit", () => r()), c.kill("SIGTERM"))));
  await Promise.race([Promise.all(ends), new Promise((r) => setTimeout(r, graceMs).unref())]);
}
