// Runs the product as a user would: `trellis up` on free ports, with a database of its own for this run
// (a fresh one on DATABASE_URL's server, or, without DATABASE_URL, the embedded PostgreSQL in a temporary
// TRELLIS_HOME). Tests read the addresses and credentials from the environment set here.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "@trellis/dataplane/testing";
import { stackEnvironment } from "./tests/processes";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The embedded PostgreSQL's URL, as `trellis up` made it (its port is the one it printed; it may differ). */
function embeddedUrl(home: string, output: string): string {
  const port = /embedded PostgreSQL on 127\.0\.0\.1:(\d+)/.exec(output)?.[1];
  if (port === undefined) throw new Error(`trellis up did not say where its PostgreSQL listens:\n${output}`);
  const password = readFileSync(join(home, "postgres.password"), "utf8").trim();
  return `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/trellis`;
}

export default async function globalSetup() {
  const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(chromium))
    throw new Error(`Chromium not found at ${chromium}: apt-get install -y chromium, or set CHROMIUM_PATH`);

  const { env, home, tdb } = await stackEnvironment("e2e");
  const [port, cpPort, pgPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      join(ROOT, "packages/cli/bin/trellis.js"),
      "up",
      "--port",
      String(port),
      "--cp-port",
      String(cpPort),
      "--pg-port",
      String(pgPort),
    ],
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`trellis up was not ready within 180 s:\n${output}`)),
      180_000,
    );
    const check = () => {
      if (output.includes("ready; press Ctrl-C to stop")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", check);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`trellis up exited with ${code}:\n${output}`));
    });
  });

  process.env.E2E_BASE_URL = `http://localhost:${port}`;
  process.env.E2E_CP_URL = `https://127.0.0.1:${cpPort}`;
  // What another control-plane replica of this mesh needs (cp-restart.spec.ts runs one): the same database,
  // the same mesh secret (it decrypts the CA's key) and home.
  process.env.E2E_TRELLIS_HOME = home;
  process.env.E2E_TRELLIS_SECRET =
    process.env.TRELLIS_SECRET ?? readFileSync(join(home, "secret"), "utf8").trim();
  process.env.E2E_DATABASE_URL = env.DATABASE_URL ?? embeddedUrl(home, output);

  return async () => {
    child.kill("SIGINT");
    await new Promise((r) => child.once("exit", r));
    if (!output.includes("stopping")) console.error("trellis up did not stop cleanly:\n" + output);
    await tdb?.drop();
    rmSync(home, { recursive: true, force: true });
  };
}
