// Processes a journey runs as a user would (`trellis up`, a shell): their output collected, waited on by pattern.
import { spawn, type ChildProcess } from "node:child_process";

/** A process whose output is collected; `until` waits for a pattern in it. */
export interface Proc {
  child: ChildProcess;
  output: () => string;
  until: (pattern: RegExp, timeoutMs: number) => Promise<RegExpExecArray>;
  exited: Promise<number | null>;
}

export function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Proc {
  const child = spawn(cmd, args, { ...opts, stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  const waiters = new Set<() => void>();
  const onData = (c: Buffer) => {
    output += c.toString();
    for (const w of waiters) w();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const until = (pattern: RegExp, timeoutMs: number) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(output);
        if (!m) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(m);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no ${pattern} within ${timeoutMs} ms in:\n${output}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return { child, output: () => output, until, exited };
}
