// Installs and removes transparent capture in the current network namespace (the pod's), with the system's
// iptables. Needs root (CAP_NET_ADMIN) and iptables; says so in one line when either is missing.
import { execFile, execFileSync } from "node:child_process";
import {
  formatIssues,
  ZCaptureSpec,
  zodIssues,
  type CaptureSpec,
  type CaptureSpecInput,
} from "@trellis/contracts/proxy";
import { captureRules, removalCommands } from "./rules.js";

export class CaptureError extends Error {
  override name = "CaptureError";
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: readonly string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === "ENOENT") return reject(err);
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function preflight(): Promise<void> {
  if (process.platform !== "linux")
    throw new CaptureError(`capture needs Linux (this is ${process.platform})`);
  if (process.getuid?.() !== 0)
    throw new CaptureError("capture needs root (CAP_NET_ADMIN) to install iptables rules; run as root");
  try {
    await run("iptables", ["--version"]);
  } catch {
    throw new CaptureError(
      "capture needs iptables, which is not installed (Debian: apt-get install iptables)",
    );
  }
}

/**
 * Installs capture for `spec` (validated here) in this network namespace, replacing what an earlier run left.
 * Returns the spec in force.
 */
export async function installCapture(input: CaptureSpecInput): Promise<CaptureSpec> {
  const parsed = ZCaptureSpec.safeParse(input);
  if (!parsed.success)
    throw new CaptureError(`invalid capture settings: ${formatIssues(zodIssues(parsed.error))}`);
  await preflight();
  await removeCapture();
  const r = await run("iptables-restore", ["--noflush"], captureRules(parsed.data));
  if (r.code !== 0) throw new CaptureError(`iptables-restore refused the capture rules: ${r.stderr.trim()}`);
  return parsed.data;
}

/** Removes capture from this network namespace; what is not there is skipped. */
export async function removeCapture(): Promise<void> {
  for (const args of removalCommands()) await run("iptables", args).catch(() => undefined);
}

/**
 * The same, synchronously: for a process that is exiting (an `exit` handler cannot wait), so that rules never
 * outlive their proxy.
 */
export function removeCaptureSync(): void {
  for (const args of removalCommands()) {
    try {
      execFileSync("iptables", args, { stdio: "ignore", timeout: 10_000 });
    } catch {
      // not installed, or already gone
    }
  }
}

/** The nat rules in force in this namespace (`iptables -t nat -S`), for diagnostics and tests. */
export async function natRules(): Promise<string> {
  const r = await run("iptables", ["-t", "nat", "-S"]);
  if (r.code !== 0) throw new CaptureError(`iptables -t nat -S failed: ${r.stderr.trim()}`);
  return r.stdout;
}
