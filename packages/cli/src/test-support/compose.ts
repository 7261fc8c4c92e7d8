// docker-compose.yml as the tests see it: each service with its `trellis` command parsed by the CLI's own
// parser (program.ts, actions replaced by a recorder), and the demo profile's pods (an app and the sidecar in
// its network namespace). There is no Docker daemon where the tests run, so what the containers would run is
// checked here (compose.test.ts) and run as processes on one host (compose-run.test.ts).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CommanderError, type Command } from "commander";
import { parse } from "yaml";
import { buildProgram } from "../program.js";

export const COMPOSE_FILE = fileURLToPath(new URL("../../../../docker-compose.yml", import.meta.url));
export const DOCKERFILE = fileURLToPath(new URL("../../../../Dockerfile", import.meta.url));

export interface ComposeService {
  name: string;
  image?: string;
  build?: unknown;
  profiles: string[];
  /** The container's arguments to the image's entrypoint (`trellis`), split as Compose splits a string. */
  command: string[] | null;
  networkMode?: string;
  /** `host:container` port mappings, as written. */
  ports: string[];
  environment: Record<string, string>;
  volumes: string[];
  dependsOn: Record<string, { condition?: string }>;
  restart?: string;
}

/**
 * Compose splits a string command like a shell would (without running one). The demo's commands use no quotes,
 * escapes or variables, so splitting on white space is the same; anything else is refused rather than guessed.
 */
export function splitCommand(command: unknown, where: string): string[] | null {
  if (command === undefined || command === null) return null;
  if (Array.isArray(command)) return command.map(String);
  if (typeof command !== "string") throw new Error(`${where}: command must be a list or a string`);
  if (/["'\\$`|;&<>()]/.test(command))
    throw new Error(`${where}: keep string commands free of quotes, escapes and shell syntax: ${command}`);
  return command.trim().split(/\s+/);
}

/** `${VAR:-default}` → default, `${VAR:?message}` → a stand-in value, `${VAR}` → "" (the variable unset). */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_m, _name, op: string, arg: string) =>
    op === "-" ? arg : op === "?" ? "x".repeat(40) : "",
  );
}

export function loadCompose(file = COMPOSE_FILE): Map<string, ComposeService> {
  // merge: the file shares settings through YAML merge keys (`<<: *demo`).
  const doc = parse(readFileSync(file, "utf8"), { merge: true }) as {
    services: Record<string, Record<string, unknown>>;
  };
  const out = new Map<string, ComposeService>();
  for (const [name, s] of Object.entries(doc.services)) {
    const dependsOn = Array.isArray(s.depends_on)
      ? Object.fromEntries((s.depends_on as string[]).map((d) => [d, {}]))
      : ((s.depends_on as Record<string, { condition?: string }> | undefined) ?? {});
    out.set(name, {
      name,
      ...(s.image !== undefined ? { image: String(s.image) } : {}),
      ...(s.build !== undefined ? { build: s.build } : {}),
      profiles: (s.profiles as string[] | undefined) ?? [],
      command: splitCommand(s.command, `services.${name}.command`),
      ...(s.network_mode !== undefined ? { networkMode: String(s.network_mode) } : {}),
      ports: ((s.ports as string[] | undefined) ?? []).map(String),
      environment: Object.fromEntries(
        Object.entries((s.environment as Record<string, unknown> | undefined) ?? {}).map(([k, v]) => [
          k,
          interpolate(String(v ?? "")),
        ]),
      ),
      volumes: ((s.volumes as string[] | undefined) ?? []).map(String),
      dependsOn,
      ...(s.restart !== undefined ? { restart: String(s.restart) } : {}),
    });
  }
  return out;
}

/** The Dockerfile's CMD: what a container runs when compose gives it no command. */
export function dockerfileCmd(file = DOCKERFILE): string[] {
  const line = readFileSync(file, "utf8")
    .split("\n")
    .findLast((l) => l.startsWith("CMD "));
  if (!line) throw new Error("the Dockerfile has no CMD");
  return JSON.parse(line.slice(4)) as string[];
}

export interface ParsedCommand {
  /** The command's path below `trellis`: ["proxy"], ["demo", "app"]. */
  path: string[];
  /** Positional arguments, after the parser's checks (`demo app <name>`). */
  args: unknown[];
  /** Every option's value, defaults included, after its parser ran (ports are numbers). */
  opts: Record<string, unknown>;
  /** Options given on the command line (not defaults or the environment). */
  given: Set<string>;
}

/** A usage error from the parser, with its message (what `trellis` would print before exiting). */
export class UsageError extends Error {}

/**
 * Parses `argv` (arguments after `trellis`) with the CLI's real command tree, in `env` (the container's
 * environment: some options default from it). Nothing runs: every command's action records what it got.
 */
export function parseTrellis(argv: string[], env: Record<string, string> = {}): ParsedCommand {
  const program = buildProgram();
  let parsed: ParsedCommand | null = null;
  let err = "";
  const visit = (cmd: Command, path: string[]) => {
    cmd.exitOverride().configureOutput({ writeErr: (s) => (err += s), writeOut: () => {} });
    if (cmd.commands.length > 0) for (const sub of cmd.commands) visit(sub, [...path, sub.name()]);
    else
      cmd.action((...received: unknown[]) => {
        const self = received.at(-1) as Command;
        parsed = {
          path,
          args: received.slice(0, -2),
          opts: self.opts(),
          given: new Set(
            self.options.map((o) => o.attributeName()).filter((k) => self.getOptionValueSource(k) === "cli"),
          ),
        };
      });
  };
  visit(program, []);
  const saved = process.env;
  process.env = { ...env } as NodeJS.ProcessEnv;
  try {
    program.parse(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError)
      throw new UsageError(`trellis ${argv.join(" ")}: ${err.trim() || e.message}`);
    throw e;
  } finally {
    process.env = saved;
  }
  if (parsed === null) throw new UsageError(`trellis ${argv.join(" ")}: names no command that runs`);
  return parsed;
}

/** One workload of the demo profile: its app container and the sidecar container in its network namespace. */
export interface Pod {
  /** The app's service name, also its DNS name in the compose network. */
  name: string;
  app: ComposeService & { parsed: ParsedCommand };
  sidecar: ComposeService & { parsed: ParsedCommand };
}

/** The demo profile's pods, by app service name. Throws when a sidecar's network_mode names no service. */
export function demoPods(services: Map<string, ComposeService>): Map<string, Pod> {
  const pods = new Map<string, Pod>();
  for (const s of services.values()) {
    if (!s.profiles.includes("demo") || s.command?.[0] !== "proxy") continue;
    const m = /^service:(.+)$/.exec(s.networkMode ?? "");
    if (!m)
      throw new Error(
        `${s.name}: a sidecar shares its app's network namespace (network_mode: service:<app>)`,
      );
    const app = services.get(m[1]!);
    if (!app?.command)
      throw new Error(`${s.name}: network_mode names ${m[1]}, which is no service with a command`);
    if (pods.has(app.name)) throw new Error(`${app.name} has two sidecars`);
    pods.set(app.name, {
      name: app.name,
      app: { ...app, parsed: parseTrellis(app.command, app.environment) },
      sidecar: { ...s, parsed: parseTrellis(s.command, s.environment) },
    });
  }
  return pods;
}

/** The ports a pod listens on, by who listens: its app and the sidecar's three listeners. */
export function podPorts(pod: Pod): { app: number; inbound: number; outbound: number; admin: number } {
  const o = pod.sidecar.parsed.opts;
  return {
    app: pod.app.parsed.opts.port as number,
    inbound: o.inboundPort as number,
    outbound: o.outboundPort as number,
    admin: o.adminPort as number,
  };
}
