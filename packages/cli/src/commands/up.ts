// `trellis up`: the whole stack on one machine. Database (yours via DATABASE_URL, else an embedded one),
// migrations, first-start bootstrap, the control plane and the console (and with --demo, the demo mesh).
// Ctrl-C stops it all.
import { Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_CONTROL_PLANE_PORT } from "@trellis/contracts";
import { parsePort } from "../ports.js";
import { serviceVipCidrOption } from "../service-vip-option.js";
import type { UpOptions } from "../run/up.js";

export function upCommand(): Command {
  return new Command("up")
    .description("run the whole stack: database, control plane and console")
    .addOption(
      new Option("-p, --port <port>", "console (and API) port")
        .default(3000)
        .argParser(parsePort)
        .env("TRELLIS_PORT"),
    )
    .addOption(
      new Option("--cp-port <port>", "control-plane port")
        .default(DEFAULT_CONTROL_PLANE_PORT)
        .argParser(parsePort)
        .env("TRELLIS_CP_PORT"),
    )
    .addOption(
      new Option("--host <address>", "address the console and control plane listen on")
        .default("127.0.0.1")
        .env("TRELLIS_HOST"),
    )
    .addOption(
      new Option("--pg-port <port>", "port of the embedded PostgreSQL (when DATABASE_URL is unset)")
        .default(15432)
        .argParser(parsePort)
        .env("TRELLIS_PG_PORT"),
    )
    .addOption(serviceVipCidrOption())
    .option(
      "--demo",
      "also run the demo mesh: sample apps with their sidecars, an ingress and steady traffic",
      false,
    )
    .option(
      "--pods",
      "with --demo, Linux, root: every demo workload in its own pod (network namespace), its app unchanged and its sidecar capturing its traffic; Ctrl-C removes the pods",
      false,
    )
    .addOption(
      new Option("--demo-port <port>", "port of the demo's ingress on 127.0.0.1 (with --demo)")
        .default(9080)
        .argParser(parsePort)
        .env("TRELLIS_DEMO_PORT"),
    )
    .addOption(
      new Option(
        "--demo-rps <n>",
        "front-page requests per second the demo's traffic generator sends; 0: none",
      )
        .default(5)
        .argParser(parseRps)
        .env("TRELLIS_DEMO_RPS"),
    )
    .option(
      "--build",
      "in a source checkout: first bring the console's build up to date (Turborepo; a second when nothing changed), while the rest starts",
      false,
    )
    .option("-v, --verbose", "show the console's own log", false)
    .addHelpText(
      "after",
      `
Environment:
  DATABASE_URL             use this PostgreSQL; when unset, an embedded one keeps its data in TRELLIS_HOME
  TRELLIS_HOME             state directory (default ~/.trellis)
  TRELLIS_ADMIN_PASSWORD   password of the first admin user (else one is generated and printed once)
  TRELLIS_BOOTSTRAP_TOKEN  create an admin API token with exactly this value (automation, tests)
  TRELLIS_SECRET           mesh secret (else generated into TRELLIS_HOME/secret, mode 0600)
  TRELLIS_TRUST_DOMAIN     SPIFFE trust domain of a new mesh (default trellis.local)
  TRELLIS_DEMO_PORT, TRELLIS_DEMO_RPS  the --demo-port and --demo-rps defaults`,
    )
    .action(async (opts: UpOptions) => {
      const { up } = await import("../run/up.js");
      await up(opts);
    });
}

export function parseRps(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n > 1000)
    throw new InvalidArgumentError("must be a number of requests per second from 0 to 1000");
  return n;
}
