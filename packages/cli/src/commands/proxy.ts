// `trellis proxy`: runs the sidecar beside one workload. Three ways to run it: in the mesh (`--control-plane …
// --token …`: config, certificate and endpoints come from the control plane), with a static config file
// (`--config`), or quick mode (`--listen … --to …`), a plain reverse proxy with telemetry and no control plane. Edit when the proxy gains a flag; the proxy itself lives in
// @trellis/dataplane.
import { Command, InvalidArgumentError, Option } from "commander";
// The data plane is loaded when the command runs, so other commands (and --help) do not pay for it.
import type { ProxyHandle, StartProxyOptions } from "@trellis/dataplane";
import { DEFAULT_LISTENERS, DEFAULT_PROXY_GID, parseDuration } from "@trellis/contracts/proxy";
import { CliError } from "../errors.js";
import { hostPort } from "../ports.js";
import { drainOnSignals } from "../signals.js";

/** Default ports: the proxy's own (contracts, so --help needs no import of the proxy). */
const DEFAULT_PORTS = {
  inbound: DEFAULT_LISTENERS.inbound.port,
  outbound: DEFAULT_LISTENERS.outbound.port,
  admin: DEFAULT_LISTENERS.admin.port,
} as const;

interface ProxyFlags {
  /** Every --control-plane given, comma-separated lists split: the replicas in the order they are tried. */
  controlPlane: string[];
  controlPlaneTimeout?: number;
  token?: string;
  tokenFile?: string;
  service?: string;
  namespace: string;
  version: string;
  advertiseAddress?: string;
  tcpPort: number[];
  label: Record<string, string>;
  reachableService: string[];
  config?: string;
  listen?: { address: string; port: number };
  to?: string;
  inboundPort: number;
  outboundPort: number;
  adminPort: number;
  appPort?: number;
  appProtocol: "http1" | "h2c";
  accessLog: boolean;
  capture: boolean;
  captureInboundPort: number[];
  /** false with --no-capture-inbound. */
  captureInbound: boolean;
  captureExcludePort: number[];
  captureExcludeCidr: string[];
  proxyGid: number;
  dns?: { address: string; port: number };
  dnsUpstream: { address: string; port: number }[];
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535)
    throw new InvalidArgumentError("must be a port number from 1 to 65535");
  return n;
}

/** `--control-plane A --control-plane B,C`: the replicas A, B, C in that order. */
function controlPlaneList(value: string, previous: string[] = []): string[] {
  const urls = value
    .split(",")
    .map((u) => u.trim())
    .filter((u) => u !== "");
  if (urls.length === 0) throw new InvalidArgumentError("must be a URL (e.g. https://127.0.0.1:15010)");
  return [...previous, ...urls];
}

/** A duration of 100 ms to 5 min, as `2s`, `500ms` or `1m30s`. */
function timeout(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < 100 || ms > 300_000)
    throw new InvalidArgumentError("must be a duration from 100ms to 5m, e.g. 10s or 500ms");
  return ms;
}

function label(value: string, previous: Record<string, string>): Record<string, string> {
  const i = value.indexOf("=");
  if (i <= 0) throw new InvalidArgumentError("must be key=value");
  return { ...previous, [value.slice(0, i)]: value.slice(i + 1) };
}

/**
 * The address other proxies reach this one at, when --advertise-address is not given: loopback when the
 * control plane is on loopback (everything on one machine), else this host's first external IPv4 address.
 */
async function defaultAdvertiseAddress(controlPlane: URL): Promise<string> {
  const host = controlPlane.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "localhost" || host === "::1" || host.startsWith("127.")) return "127.0.0.1";
  const { networkInterfaces } = await import("node:os");
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  throw new CliError("cannot tell which address other proxies reach this one at; give --advertise-address");
}

export function proxyCommand(): Command {
  const cmd = new Command("proxy")
    .description("run the Trellis sidecar proxy beside one workload")
    .addHelpText(
      "after",
      `
Examples:
  TRELLIS_JOIN_TOKEN=tj1.… trellis proxy --control-plane https://cp:15010 \\
      --namespace shop --service reviews --version v2 --app-port 8080
      join the mesh: certificate, config and peers come from the control plane
  … --control-plane https://cp-1:15010,https://cp-2:15010
      several replicas: the first that answers holds the stream, the next takes over when it fails
  trellis proxy --config proxy.yaml --app-port 8080
      run a sidecar from a static config (JSON or YAML); SIGHUP re-reads the file
  trellis proxy --listen 127.0.0.1:8000 --to 127.0.0.1:8080
      quick mode: a plain reverse proxy with telemetry on the admin port, no control plane
  trellis proxy --listen 127.0.0.1:8000 --to 127.0.0.1:50051 --app-protocol h2c
      quick mode in front of a gRPC server

Admin endpoints (127.0.0.1:<admin-port>): /ready /stats/prometheus /config_dump /clusters, and POST /v1/traces
(the app's OTLP spans, relayed to the trace endpoint)
SIGTERM or SIGINT drains: requests in flight finish, then the proxy exits.`,
    )
    .addOption(
      new Option(
        "--control-plane <url>",
        "mesh mode: the control plane, e.g. https://127.0.0.1:15010; several replicas: repeat it or separate them with commas, tried in that order",
      )
        .argParser(controlPlaneList)
        .default([]),
    )
    .addOption(
      new Option(
        "--control-plane-timeout <duration>",
        "mesh mode: how long a replica may stay silent (a connect, or an unanswered ping on the stream) before the proxy gives it up and tries the next",
      )
        .argParser(timeout)
        .default(undefined, "10s"),
    )
    .addOption(
      new Option("--token <join-token>", "mesh mode: join token (prefer the environment variable)").env(
        "TRELLIS_JOIN_TOKEN",
      ),
    )
    .option(
      "--token-file <file>",
      "mesh mode: read the join token from this file (a secret mounted into the container)",
    )
    .option("--service <name>", "mesh mode: the service this workload serves")
    .option("--namespace <name>", "mesh mode: the service's namespace", "default")
    .option("--version <version>", "mesh mode: the workload's version (routes split traffic by it)", "v1")
    .option(
      "--advertise-address <host>",
      "mesh mode: address other proxies reach this one at (default: 127.0.0.1 when the control plane is local, else this host's first IPv4)",
    )
    .addOption(
      new Option("--tcp-port <port>", "mesh mode: an app port that carries raw TCP (repeatable)")
        .argParser((v: string, prev: number[] = []) => [...prev, port(v)])
        .default([]),
    )
    .addOption(
      new Option("--label <key=value>", "mesh mode: a workload label (repeatable)")
        .argParser(label)
        .default({}),
    )
    .addOption(
      new Option(
        "--reachable-service <service>",
        "mesh mode: a service this workload calls, `name` or `namespace/name` (repeatable); given, its config carries only these",
      )
        .argParser((v: string, prev: string[] = []) => [...prev, v])
        .default([]),
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
    .addOption(
      new Option(
        "--app-protocol <protocol>",
        "how the local app (quick mode: the --to upstream) speaks: http1, or h2c (HTTP/2 without TLS, as gRPC servers do)",
      )
        .choices(["http1", "h2c"])
        .default("http1"),
    )
    .option("--access-log", "write a JSON access log line per request to stdout", false)
    .option(
      "--capture",
      "mesh or --config mode, Linux, root: capture the app's TCP with iptables in this network namespace (the app needs no proxy settings); rules removed on exit",
      false,
    )
    .addOption(
      new Option(
        "--capture-inbound-port <port>",
        "with --capture: an app port whose inbound connections go through the sidecar (repeatable; default: --app-port and --tcp-port)",
      )
        .argParser((v: string, prev: number[] = []) => [...prev, port(v)])
        .default([]),
    )
    .option(
      "--no-capture-inbound",
      "with --capture: leave every inbound connection alone (a gateway whose app takes traffic from outside the mesh)",
    )
    .addOption(
      new Option("--capture-exclude-port <port>", "with --capture: an outbound port left alone (repeatable)")
        .argParser((v: string, prev: number[] = []) => [...prev, port(v)])
        .default([]),
    )
    .addOption(
      new Option(
        "--capture-exclude-cidr <cidr>",
        "with --capture: an outbound IPv4 address or block left alone (repeatable)",
      )
        .argParser((v: string, prev: string[] = []) => [...prev, v])
        .default([]),
    )
    .addOption(
      new Option(
        "--proxy-gid <gid>",
        "with --capture: the group the sidecar switches to, whose traffic is never captured",
      )
        .default(DEFAULT_PROXY_GID)
        .argParser((v: string) => {
          const n = Number(v);
          if (!/^\d+$/.test(v) || n < 1) throw new InvalidArgumentError("must be a group id above 0");
          return n;
        }),
    )
    .addOption(
      new Option(
        "--dns <host:port>",
        "answer DNS here (UDP and TCP): the mesh's service names with their virtual IPs, other names from --dns-upstream (default with --capture: 127.0.0.1:53, where the pod's resolv.conf points)",
      ).argParser(hostPort),
    )
    .addOption(
      new Option(
        "--dns-upstream <host[:port]>",
        "with --dns: a resolver for other names (repeatable; default: the nameservers in /etc/resolv.conf, except --dns itself)",
      )
        .argParser((v: string, prev: { address: string; port: number }[] = []) => [
          ...prev,
          hostPort(/:\d+$/.test(v) && !v.endsWith("]") ? v : `${v}:53`),
        ])
        .default([]),
    )
    .action(async (flags: ProxyFlags, command: Command) => {
      if (flags.controlPlane.length > 0) return runMeshProxy(flags);
      if (flags.controlPlaneTimeout !== undefined)
        throw new CliError("--control-plane-timeout needs mesh mode (--control-plane)");
      if (flags.capture && flags.config === undefined)
        throw new CliError("--capture needs mesh mode (--control-plane) or a static --config");
      const { loadConfigFile, quickConfig, startProxy } = await import("@trellis/dataplane");
      const explicit = (name: string) => command.getOptionValueSource(name) === "cli";
      let config: Record<string, unknown>;
      const listeners: NonNullable<StartProxyOptions["listeners"]> = {};
      if (flags.listen !== undefined || flags.to !== undefined) {
        if (flags.config !== undefined)
          throw new CliError("use either --config or quick mode (--listen with --to), not both");
        if (flags.listen === undefined || flags.to === undefined)
          throw new CliError("quick mode needs both --listen and --to");
        // --app-protocol says how the upstream speaks: callers may speak HTTP/1.1 or h2c either way.
        config = quickConfig({ to: flags.to, upstreamProtocol: flags.appProtocol }) as Record<
          string,
          unknown
        >;
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

      const effective = withFlags(config);
      if (flags.capture) {
        // Checked before anything is installed: a config the proxy would refuse leaves the namespace as it was.
        const { formatProxyConfigIssues, validateProxyConfig } = await import("@trellis/contracts/proxy");
        const v = validateProxyConfig(effective);
        if (!v.ok) throw new CliError(`invalid proxy config: ${formatProxyConfigIssues(v.issues)}`);
      }
      const inbound = effective.inbound as { appPort?: unknown; tcpPorts?: unknown } | undefined;
      const removeCapture = flags.capture
        ? await capture(flags, null, [
            ...(typeof inbound?.appPort === "number" ? [inbound.appPort] : []),
            ...(Array.isArray(inbound?.tcpPorts) ? (inbound.tcpPorts as number[]) : []),
          ])
        : null;
      let proxy: ProxyHandle;
      try {
        const dns = await dnsOption(flags);
        proxy = await startProxy({
          config: effective,
          listeners,
          ...(flags.capture ? { capture: true } : {}),
          ...(dns ? { dns } : {}),
          log: (l) => console.error(l),
        });
      } catch (e) {
        await removeCapture?.();
        throw new CliError((e as Error).message);
      }
      await proxyServes();
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
      drainOnSignals("trellis proxy", async () => {
        try {
          await proxy.close();
        } finally {
          await removeCapture?.();
        }
      });
    });
  return cmd;
}

/** The proxy is up: V8's young generation may now grow to its size for traffic (a no-op without the tuning). */
async function proxyServes(): Promise<void> {
  const { tuneV8ForTraffic } = await import("@trellis/dataplane/v8-tuning");
  tuneV8ForTraffic();
}

/** The join token, from exactly one of --token, TRELLIS_JOIN_TOKEN and --token-file. */
async function joinToken(flags: ProxyFlags): Promise<string> {
  if (flags.tokenFile === undefined) {
    if (!flags.token)
      throw new CliError("mesh mode needs a join token: --token, TRELLIS_JOIN_TOKEN or --token-file");
    return flags.token;
  }
  if (flags.token)
    throw new CliError("give the join token one way: --token-file, or --token / TRELLIS_JOIN_TOKEN");
  const { readFile } = await import("node:fs/promises");
  let token: string;
  try {
    token = (await readFile(flags.tokenFile, "utf8")).trim();
  } catch (e) {
    throw new CliError(`cannot read the join token from ${flags.tokenFile}: ${(e as Error).message}`);
  }
  if (token === "") throw new CliError(`${flags.tokenFile} is empty: it should hold a join token (tj1.…)`);
  return token;
}

async function runMeshProxy(flags: ProxyFlags): Promise<void> {
  if (flags.config !== undefined || flags.listen !== undefined || flags.to !== undefined)
    throw new CliError("--control-plane cannot be combined with --config or quick mode");
  const token = await joinToken(flags);
  if (!flags.service) throw new CliError("mesh mode needs --service");
  if (flags.appPort === undefined) throw new CliError("mesh mode needs --app-port");
  const cpUrls = flags.controlPlane.map((given) => {
    let url: URL;
    try {
      url = new URL(given);
    } catch {
      throw new CliError(`--control-plane ${given} is not a URL (e.g. https://127.0.0.1:15010)`);
    }
    if (url.protocol !== "https:")
      throw new CliError(
        `--control-plane ${given}: must be an https:// URL: the stream always runs over TLS`,
      );
    return url;
  });
  const advertise = flags.advertiseAddress ?? (await defaultAdvertiseAddress(cpUrls[0]!));
  const { ZProxyNode } = await import("@trellis/contracts/proxy");
  const node = ZProxyNode.safeParse({
    namespace: flags.namespace,
    service: flags.service,
    version: flags.version,
    address: `${advertise.includes(":") ? `[${advertise}]` : advertise}:${flags.inboundPort}`,
    labels: flags.label,
    ...(flags.reachableService.length > 0 ? { reachableServices: flags.reachableService } : {}),
  });
  if (!node.success) {
    const i = node.error.issues[0]!;
    // The flag that set the field (the control plane checks the same schema and would refuse the hello).
    const flagOf: Record<string, string> = {
      reachableServices: "reachable-service",
      labels: "label",
      address: "advertise-address",
    };
    const flag = flagOf[String(i.path[0])] ?? String(i.path[0] ?? "service");
    const key = i.path[0] === "labels" && i.path[1] !== undefined ? ` ${String(i.path[1])}` : "";
    // A bad label key: zod says "Invalid key in record"; the key schema's own message says what is wrong.
    const inner = (i as { issues?: readonly { message: string }[] }).issues?.[0]?.message;
    throw new CliError(`--${flag}${key}: ${inner ?? i.message}`);
  }
  // Capture first: the rules exempt the proxy's group, and a socket keeps the group it was opened with, so the
  // proxy switches group before it opens any.
  const removeCapture = flags.capture
    ? await capture(flags, cpUrls, [
        ...(flags.appPort !== undefined ? [flags.appPort] : []),
        ...flags.tcpPort,
      ])
    : null;
  const dns = await dnsOption(flags);
  const { startMeshProxy } = await import("@trellis/dataplane/mesh");
  const mesh = startMeshProxy({
    controlPlaneUrls: cpUrls.map((u) => u.origin),
    ...(flags.controlPlaneTimeout !== undefined ? { streamTimeoutMs: flags.controlPlaneTimeout } : {}),
    token,
    node: node.data,
    app: {
      port: flags.appPort,
      ...(flags.tcpPort.length > 0 ? { tcpPorts: flags.tcpPort } : {}),
      ...(flags.appProtocol !== "http1" ? { protocol: flags.appProtocol } : {}),
    },
    listeners: {
      inbound: { address: "0.0.0.0", port: flags.inboundPort },
      outbound: { address: "127.0.0.1", port: flags.outboundPort },
      admin: { address: "127.0.0.1", port: flags.adminPort },
    },
    ...(flags.capture ? { capture: true } : {}),
    ...(dns ? { dns } : {}),
    log: (l) => console.error(l),
  });
  drainOnSignals("trellis proxy", async () => {
    try {
      await mesh.close();
    } finally {
      await removeCapture?.();
    }
  });
  let proxy: ProxyHandle;
  try {
    proxy = await mesh.ready;
  } catch (e) {
    await mesh.close().catch(() => {});
    await removeCapture?.();
    throw new CliError((e as Error).message);
  }
  await proxyServes();
  const a = proxy.addresses;
  const show = (b: { host: string; port: number } | null) => (b ? `${b.host}:${b.port}` : "off");
  console.error(
    `trellis proxy: ${node.data.namespace}/${node.data.service} ${node.data.version} in the mesh, config ${proxy.currentVersion()}; outbound ${show(a.outbound)}, inbound ${show(a.inbound)} (advertised ${node.data.address}), admin ${show(a.admin)}`,
  );
}

/**
 * Installs capture for this proxy in the current network namespace and switches the process to the proxy's
 * group. Returns what removes the rules again (on exit).
 */
async function capture(
  flags: ProxyFlags,
  cpUrls: URL[] | null,
  appPorts: number[],
): Promise<() => Promise<void>> {
  const { ZIpv4 } = await import("@trellis/contracts/proxy");
  const { captureAddonError, installCapture, removeCapture, removeCaptureSync, CaptureError } =
    await import("@trellis/dataplane");
  const missing = captureAddonError();
  if (missing !== null) throw new CliError(`--capture: ${missing}`);
  // Every replica given by address is left alone (one given by name is reached by the proxy alone, whose group
  // passes anyway).
  const controlPlanes = (cpUrls ?? []).flatMap((u) =>
    ZIpv4.safeParse(u.hostname).success ? [{ address: u.hostname, port: Number(u.port || 443) }] : [],
  );
  if (!flags.captureInbound && flags.captureInboundPort.length > 0)
    throw new CliError("give --capture-inbound-port or --no-capture-inbound, not both");
  const inboundPorts = !flags.captureInbound
    ? []
    : flags.captureInboundPort.length > 0
      ? flags.captureInboundPort
      : appPorts;
  try {
    await installCapture({
      outboundPort: flags.outboundPort,
      inboundPort: flags.inboundPort,
      proxyGid: flags.proxyGid,
      inboundPorts,
      excludeOutboundPorts: flags.captureExcludePort,
      excludeOutboundCidrs: flags.captureExcludeCidr,
      controlPlanes,
    });
  } catch (e) {
    if (e instanceof CaptureError) throw new CliError(`--capture: ${e.message}`);
    throw e;
  }
  let removed = false;
  const remove = async () => {
    if (removed) return;
    removed = true;
    await removeCapture();
  };
  // However the process ends (a failed drain, an uncaught error), the rules go with it: left behind, they
  // would send the app's traffic to a listener that is gone.
  process.once("exit", () => {
    if (!removed) removeCaptureSync();
  });
  try {
    process.setgid!(flags.proxyGid);
  } catch (e) {
    await remove();
    throw new CliError(`--capture: cannot switch to group ${flags.proxyGid}: ${(e as Error).message}`);
  }
  console.error(
    `trellis proxy: capturing this network namespace's TCP (outbound to ${flags.outboundPort}, inbound ports ${inboundPorts.join(", ") || "none"} to ${flags.inboundPort}); the proxy runs as group ${flags.proxyGid}`,
  );
  return remove;
}

/**
 * Where the proxy answers DNS, and what it forwards other names to: --dns (default 127.0.0.1:53 with --capture),
 * --dns-upstream, else the nameservers of /etc/resolv.conf (read now: in a pod it is the pod's, which points at
 * this resolver, so that address is left out).
 */
async function dnsOption(
  flags: ProxyFlags,
): Promise<{ address: string; port: number; upstreams: { host: string; port: number }[] } | null> {
  const at = flags.dns ?? (flags.capture ? { address: "127.0.0.1", port: 53 } : null);
  if (at === null) return null;
  let upstreams = flags.dnsUpstream.map((u) => ({ host: u.address, port: u.port }));
  if (upstreams.length === 0) {
    const { readFile } = await import("node:fs/promises");
    const text = await readFile("/etc/resolv.conf", "utf8").catch(() => "");
    upstreams = [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)]
      .map((m) => ({ host: m[1]!, port: 53 }))
      .filter((u) => !(u.host === at.address && u.port === at.port));
  }
  return { address: at.address, port: at.port, upstreams };
}
