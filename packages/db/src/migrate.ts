import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DatabaseConnectError } from "./errors.js";

/** The repository root: where prisma.config.ts and prisma/migrations live. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "prisma.config.ts")) && existsSync(join(dir, "prisma", "schema.prisma")))
      return dir;
    const up = dirname(dir);
    if (up === dir)
      throw new Error(
        "cannot find the Trellis repository root (prisma.config.ts) above " + fileURLToPath(import.meta.url),
      );
    dir = up;
  }
}

const SUCCESS = /All migrations have been successfully applied\.|No pending migrations to apply\./;

/**
 * Applies committed migrations with `prisma migrate deploy` (the WASM schema engine; see prisma.config.ts).
 * Idempotent: already-applied migrations are skipped, a drifted or failed one stops with Prisma's reason.
 */
export async function migrateDatabase(url: string): Promise<void> {
  const root = repoRoot();
  const prismaCli = createRequire(import.meta.url).resolve("prisma/build/index.js");
  const out: Buffer[] = [];
  let succeeded = false;
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [prismaCli, "migrate", "deploy", "--config", join(root, "prisma.config.ts")],
      {
        cwd: root,
        env: { ...process.env, DATABASE_URL: url, CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child.stdout.on("data", (c: Buffer) => {
      out.push(c);
      // `migrate deploy` with the JS engine leaves a 10 s timer running after it is done (its lock-timeout
      // race is never cleared), so the process lingers. Once it has said it succeeded, end it.
      if (!succeeded && SUCCESS.test(Buffer.concat(out).toString("utf8"))) {
        succeeded = true;
        setTimeout(() => child.kill("SIGTERM"), 200).unref();
      }
    });
    child.stderr.on("data", (c: Buffer) => out.push(c));
    child.on("error", reject);
    child.on("close", resolve);
  });
  if (code !== 0 && !succeeded) {
    const text = Buffer.concat(out).toString("utf8");
    const reason =
      text
        .split("\n")
        .map((l) => l.trim())
        .find((l) => l.startsWith("Error") || l.startsWith("P3") || l.includes("ERROR:")) ??
      text.trim().split("\n").slice(-3).join(" ");
    throw new DatabaseConnectError(`database migration failed: ${reason}`);
  }
}
