// The machine: is it one a bed can run on, where are `ip` and `iptables`, and running them. Commands are run
// with execFile (no shell, arguments as given), their exit status checked and their stderr put into the error.
// Both an async and a sync runner: creating pods is async, but tearing down must also work inside a
// process's 'exit' handler, where only synchronous code runs.
import { execFile, execFileSync } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { PodsError } from "./errors.js";

export interface Tools {
  ip: string;
  iptablesRestore: string;
}

// PATH often lacks the sbin directories (a non-login shell, an IDE's test runner).
const EXTRA_PATH = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...EXTRA_PATH];
  for (const dir of dirs) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here; try the next directory
    }
  }
  return undefined;
}

let tools: Tools | undefined;

/**
 * Why a bed cannot run here, as one line, or undefined when it can. Tests call this to skip (outside CI)
 * with the reason; every entry point of the package calls `requireSupport()`.
 */
export function unsupportedReason(): string | undefined {
  try {
    requireSupport();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The tools, or a PodsError saying in one line what is missing. Checked once per process. */
export function requireSupport(): Tools {
  if (tools) return tools;
  const no = (why: string) => new PodsError("PODS_UNSUPPORTED", why);
  if (process.platform !== "linux")
    throw no(`pods need Linux network namespaces; this is ${process.platform}`);
  const uid = process.getuid?.();
  if (uid !== 0) {
    throw no(`pods need root (network namespaces, veths, iptables); running as uid ${uid}`);
  }
  if (!existsSync("/proc/self/ns/net")) throw no("this kernel has no network namespaces (/proc/self/ns/net)");
  const ip = findExecutable("ip");
  if (!ip) throw no("`ip` (iproute2) is not installed: apt-get install -y iproute2");
  const iptablesRestore = findExecutable("iptables-restore");
  if (!iptablesRestore || !findExecutable("iptables")) {
    throw no("`iptables` is not installed: apt-get install -y iptables");
  }
  tools = { ip, iptablesRestore };
  return tools;
}

export interface RunOptions {
  /** Written to the command's stdin (`ip -batch -`, `iptables-restore`). */
  input?: string;
}

function failure(file: string, args: readonly string[], status: unknown, stderr: string, cause: unknown) {
  const line = [file.split("/").pop(), ...args].join(" ");
  const shown = line.length > 160 ? `${line.slice(0, 157)}...` : line;
  const why = stderr.trim().split("\n").filter(Boolean).slice(-3).join(" | ") || String(cause);
  return new PodsError("PODS_COMMAND_FAILED", `\`${shown}\` failed (exit ${status}): ${why}`, { cause });
}

export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) reject(failure(file, args, (err as { code?: unknown }).code, stderr, err));
      else resolve(stdout);
    });
    // A command that exits without reading its stdin makes writing it fail with EPIPE: its exit status,
    // not the pipe, says whether it worked.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(options.input);
  });
}

export function runSync(file: string, args: readonly string[], options: RunOptions = {}): string {
  try {
    return execFileSync(file, args, {
      encoding: "utf8",
      input: options.input ?? "",
      stdio: ["pipe", "pipe", "pipe"],
    });
  } catch (err) {
    const e = err as { status?: unknown; stderr?: string };
    throw failure(file, args, e.status, e.stderr ?? "", err);
  }
}

/** Names under /run/netns: the namespaces `ip netns` knows. A directory read, no process. */
export const NETNS_DIR = "/run/netns";
export function netnsExists(name: string): boolean {
  return existsSync(join(NETNS_DIR, name));
}
export function rootLinkExists(name: string): boolean {
  return existsSync(join("/sys/class/net", name));
}
