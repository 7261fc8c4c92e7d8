// Processes a journey runs as a user would (`trellis up`, a shell): their output collected, waited on by pattern.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase, type TestDatabase } from "@trellis/db/testing";
import { ADMIN_PASSWORD, ADMIN_TOKEN } from "./fixtures";

/**
 * The environment of a `trellis up` of a test's own: a fresh TRELLIS_HOME, the e2e admin's password and token,
 * and a database of its own on DATABASE_URL's server (without DATABASE_URL: the embedded one, in that home).
 */
export async function stackEnvironment(
  label: string,
): Promise<{ env: Record<string, string>; home: string; tdb: TestDatabase | null }> {
  const home = mkdtempSync(join(tmpdir(), `trellis-${label}-`));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    TRELLIS_HOME: home,
    TRELLIS_ADMIN_PASSWORD: ADMIN_PASSWORD,
    TRELLIS_BOOTSTRAP_TOKEN: ADMIN_TOKEN,
  };
  let tdb: TestDatabase | null = null;
  if (process.env.DATABASE_URL) {
    tdb = await createTestDatabase(label);
    env.DATABASE_URL = tdb.url;
  }
  return { env, home, tdb };
}

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
