import { Command, Option } from "commander";
import { checkDatabase, createDb, redactUrl } from "@trellis/db";
import { bootstrap } from "@trellis/services";
import { migrateDatabase } from "@trellis/db/admin";
import { startControlPlane } from "@trellis/control-plane";
import { CliError } from "../errors.js";
import { parsePort } from "../ports.js";

export function controlplaneCommand(): Command {
  return new Command("controlplane")
    .description("run a control-plane replica against DATABASE_URL (several may share one database)")
    .addOption(
      new Option("--port <port>", "listen port").default(15010).argParser(parsePort).env("TRELLIS_CP_PORT"),
    )
    .addOption(new Option("--host <address>", "listen address").default("0.0.0.0").env("TRELLIS_HOST"))
    .option("--migrate", "apply database migrations and create the first admin user before starting", false)
    .action(async (opts: { port: number; host: string; migrate: boolean }) => {
      const url = process.env.DATABASE_URL;
      if (!url)
        throw new CliError(
          "DATABASE_URL is required (the control plane never starts its own database; `trellis up` does)",
        );
      await checkDatabase(url);
      if (opts.migrate) {
        await migrateDatabase(url);
        const db = createDb(url, { max: 1 });
        try {
          const password = process.env.TRELLIS_ADMIN_PASSWORD;
          const boot = await bootstrap(db, password ? { adminPassword: password } : {});
          if (boot.generatedPassword)
            console.log(`trellis: created user "admin" with password ${boot.generatedPassword} (shown once)`);
        } finally {
          await db.$disconnect();
        }
      }
      const cp = await startControlPlane({
        databaseUrl: url,
        host: opts.host,
        port: opts.port,
        log: (l) => console.log(l),
      });
      console.log(`trellis: control plane ${cp.url} (database ${redactUrl(url)})`);
      const stop = () => {
        void cp.close().then(() => process.exit(0));
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
