// For tests of the built CLI's REST commands: the `trellis` binary spawned as a user runs it, without blocking
// this process (where the API server under test lives: `serve()` from `@trellis/api/testing`). Import this
// rather than writing a spawner again in the next test file.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/trellis.js", import.meta.url));

export interface Run {
  code: number | null;
  out: string;
  err: string;
}

export interface RunOptions {
  /** Written to the CLI's standard input, which is then closed; without it stdin is /dev/null. */
  input?: string;
}

/**
 * Runs the built CLI with `env` laid over this process's environment (a variable given as `undefined` is
 * removed, as for a user who never set it); killed after 30 s.
 */
export function runTrellis(
  args: string[],
  env: Record<string, string | undefined>,
  opts: RunOptions = {},
): Promise<Run> {
  return new Promise<Run>((resolve, reject) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
    const child: ChildProcess = spawn(process.execPath, [BIN, ...args], {
      env: childEnv,
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}
