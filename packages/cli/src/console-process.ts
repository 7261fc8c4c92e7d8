import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { CliError } from "./errors.js";

export interface ConsoleProcess {
  url: string;
  stop(): Promise<void>;
  exited: Promise<number | null>;
}

function nextBin(webDir: string): string {
  return createRequire(join(webDir, "package.json")).resolve("next/dist/bin/next");
}

/** Whether the console has a production build (`next build` writes .next/BUILD_ID last). */
export function consoleIsBuilt(webDir: string): boolean {
  return existsSync(join(webDir, ".next", "BUILD_ID"));
}

/** Builds the console once when no production build exists (e.g. `npx trellis up` right after `npm ci`). */
export async function ensureConsoleBuilt(webDir: string, log: (l: string) => void): Promise<void> {
  if (consoleIsBuilt(webDir)) return;
  log("building the console (first start only; about a minute)…");
  await runBuild([nextBin(webDir), "build"], webDir);
}

/**
 * `trellis up --build`: brings the console's build up to date with the checkout it runs from, through
 * Turborepo, which replays it in about a second when nothing changed. Returns whether it had to build.
 */
export async function buildConsoleFromSource(root: string): Promise<{ built: boolean }> {
  let turbo: string;
  try {
    turbo = createRequire(join(root, "package.json")).resolve("turbo/bin/turbo");
  } catch {
    throw new CliError(
      `--build needs a source checkout with its dependencies installed (no turbo in ${root})`,
    );
  }
  const out = await runBuild(
    [turbo, "run", "build", "--filter=@trellis/web", "--output-logs=errors-only"],
    root,
  );
  const cached = /Cached:\s+(\d+) cached, (\d+) total/.exec(out);
  return { built: !cached || cached[1] !== cached[2] };
}

/**
 * Runs a build with its output kept, not shown: it runs while other parts start and print. Shown if it fails.
 */
async function runBuild(args: string[], cwd: string): Promise<string> {
  const out: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", TURBO_TELEMETRY_DISABLED: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const stream of [child.stdout, child.stderr])
      stream.on("data", (c: Buffer) => out.push(c.toString("utf8")));
    child.on("error", reject);
    child.on("close", resolve);
  });
  if (code !== 0) {
    process.stderr.write(out.join(""));
    throw new CliError("building the console failed (its output is above)");
  }
  return out.join("");
}

/**
 * Runs `next start` for the console as a child process with the settings it needs, and waits until it
 * answers its health check. Its output is kept and shown only if it fails to start, or with `verbose`.
 */
export async function startConsole(opts: {
  webDir: string;
  host: string;
  port: number;
  publicUrl: string;
  env: Record<string, string>;
  verbose: boolean;
  log: (l: string) => void;
}): Promise<ConsoleProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    // Idle connections kept 65 s, not Node's 5 s: a client (a load balancer, whose idle timeout is usually
    // 60 s; an API client between calls) that sends on a connection the server is closing gets ECONNRESET.
    [
      nextBin(opts.webDir),
      "start",
      ...["--hostname", opts.host, "--port", String(opts.port), "--keepAliveTimeout", "65000"],
    ],
    {
      cwd: opts.webDir,
      env: {
        ...process.env,
        ...opts.env,
        NEXT_TELEMETRY_DISABLED: "1",
        NODE_ENV: "production",
        NEXTAUTH_URL: opts.publicUrl,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const tail: string[] = [];
  const collect = (stream: NodeJS.ReadableStream | null, isErr: boolean) =>
    stream?.on("data", (c: Buffer) => {
      for (const line of c.toString("utf8").split("\n")) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 50) tail.shift();
        if (opts.verbose || (isErr && started)) opts.log(`[console] ${line}`);
      }
    });
  let started = false;
  collect(child.stdout, false);
  collect(child.stderr, true);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

  const healthUrl = `http://${opts.host === "0.0.0.0" ? "127.0.0.1" : opts.host}:${opts.port}/api/health`;
  const deadline = Date.now() + 90_000;
  let dead = false;
  void exited.then(() => (dead = true));
  while (!started) {
    if (dead) throw new CliError(`the console exited while starting:\n${tail.slice(-10).join("\n")}`);
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      throw new CliError(`the console did not become ready within 90 s:\n${tail.slice(-10).join("\n")}`);
    }
    try {
      const r = await fetch(healthUrl, { signal: AbortSignal.timeout(2000) });
      if (r.ok) started = true;
      else await r.body?.cancel();
    } catch {
      /* not listening yet */
    }
    if (!started) await new Promise((r) => setTimeout(r, 250));
  }

  return {
    url: opts.publicUrl,
    exited,
    async stop() {
      if (dead) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
