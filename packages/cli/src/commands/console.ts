import { Command, Option } from "commander";
import { join } from "node:path";
import { CliError } from "../errors.js";
import { parsePort } from "../ports.js";

export function consoleCommand(): Command {
  return new Command("console")
    .description("run only the console and API against DATABASE_URL (for deployments that split the stack)")
    .addOption(
      new Option("-p, --port <port>", "listen port").default(3000).argParser(parsePort).env("TRELLIS_PORT"),
    )
    .addOption(new Option("--host <address>", "listen address").default("0.0.0.0").env("TRELLIS_HOST"))
    .addOption(
      new Option("--public-url <url>", "the URL people use to reach the console").env("NEXTAUTH_URL"),
    )
    .option("-v, --verbose", "show the console's own log", false)
    .action(async (opts: { port: number; host: string; publicUrl?: string; verbose: boolean }) => {
      const url = process.env.DATABASE_URL;
      if (!url) throw new CliError("DATABASE_URL is required");
      const secret = process.env.NEXTAUTH_SECRET;
      if (!secret || secret.length < 32)
        throw new CliError("NEXTAUTH_SECRET must be set to at least 32 random characters");
      const { checkDatabase } = await import("@trellis/db");
      const { repoRoot } = await import("@trellis/db/admin");
      const { ensureConsoleBuilt, startConsole } = await import("../console-process.js");
      await checkDatabase(url);
      const webDir = join(repoRoot(), "apps", "web");
      const log = (l: string) => console.log(`trellis: ${l}`);
      await ensureConsoleBuilt(webDir, log);
      const proc = await startConsole({
        webDir,
        host: opts.host,
        port: opts.port,
        publicUrl: opts.publicUrl ?? `http://localhost:${opts.port}`,
        env: { DATABASE_URL: url, NEXTAUTH_SECRET: secret },
        verbose: opts.verbose,
        log,
      });
      log(`console ${proc.url}`);
      const stop = () => void proc.stop().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      const code = await proc.exited;
      process.exit(code ?? 1);
    });
}
