// `trellis get KIND [NAME]`: read what the mesh has, over the REST API. One table per kind, or -o json|yaml.
// Edit when the API gains something worth listing: add a kind to KINDS.
import { Command } from "commander";
import type { ProxyList, ServiceList } from "@trellis/contracts";
import {
  api,
  apiOptions,
  outputOption,
  printOutput,
  printTable,
  query,
  type ApiOptions,
  type OutputOptions,
} from "../api-client.js";
import { CliError } from "../errors.js";
import { getChange, getChanges, getResources } from "./change.js";
import { getTrace, getTraces, type TraceOptions } from "./traces.js";

type Common = ApiOptions &
  OutputOptions &
  TraceOptions & { namespace?: string; kind?: string; status?: string };
type Getter = (o: Common, name: string | undefined) => Promise<void>;

const ago = (iso: string) => {
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  return s < 120
    ? `${s}s`
    : s < 7200
      ? `${Math.round(s / 60)}m`
      : s < 172800
        ? `${Math.round(s / 3600)}h`
        : `${Math.round(s / 86400)}d`;
};

async function getServices(o: Common, name: string | undefined) {
  let { items } = await api<ServiceList>(o, "GET", `/services${query({ namespace: o.namespace })}`);
  if (name) {
    items = items.filter((s) => s.name === name);
    if (items.length === 0)
      throw new CliError(
        `no service named "${name}"${o.namespace ? ` in namespace ${o.namespace}` : " that you may see"}`,
      );
  }
  await printOutput(o, name && items.length === 1 ? items[0] : items, () =>
    printTable(
      items.map((s) => ({
        namespace: s.namespace,
        name: s.name,
        vip: s.vip ?? "-",
        versions: s.versions.join(",") || "-",
        proxies: `${s.healthyWorkloads}/${s.workloads}`,
        age: ago(s.createdAt),
      })),
      ["namespace", "name", "vip", "versions", "proxies", "age"],
    ),
  );
}

async function getProxies(o: Common, service: string | undefined) {
  const { items } = await api<ProxyList>(o, "GET", `/proxies${query({ namespace: o.namespace, service })}`);
  await printOutput(o, items, () =>
    printTable(
      items.map((p) => ({
        namespace: p.namespace,
        service: p.service,
        version: p.version,
        address: p.address,
        status: p.status,
        config: p.ackedVersion ?? "-",
        nack: p.nackedVersion ? `${p.nackedVersion}: ${p.nackReason ?? ""}` : "",
        "last seen": ago(p.lastSeenAt),
      })),
      ["namespace", "service", "version", "address", "status", "config", "nack", "last seen"],
    ),
  );
}

const KINDS: Record<string, { getter: Getter; help: string }> = {
  services: { getter: getServices, help: "services in the registry (NAME: one service)" },
  proxies: {
    getter: getProxies,
    help: "registered proxies and their config versions (NAME: of one service)",
  },
  resources: { getter: getResources, help: "policy resources in force (NAME: one, with its spec; --kind)" },
  changes: { getter: getChanges, help: "change requests, newest first (--status; NAME: one change)" },
  change: { getter: getChange, help: "one change request by id or number: status, approvals, rollout" },
  traces: {
    getter: getTraces,
    help: "sampled traces, newest first (NAME: of one service; --status, --min-duration, --since, --slowest)",
  },
  trace: { getter: getTrace, help: "one trace by id: its spans as a waterfall" },
};
const ALIASES: Record<string, string> = {
  service: "services",
  svc: "services",
  proxy: "proxies",
  resource: "resources",
};

export function getCommand(): Command {
  const cmd = new Command("get")
    .summary(`show ${Object.keys(KINDS).join(", ")}`)
    .description(
      `show what the mesh has: ${Object.entries(KINDS)
        .map(([k, v]) => `\n  ${k.padEnd(10)} ${v.help}`)
        .join("")}`,
    )
    .argument("<kind>", Object.keys(KINDS).join(", "))
    .argument("[name]", "only this one")
    .option("-n, --namespace <ns>", "only this namespace")
    .option("--kind <kind>", "resources: only Route, DestinationPolicy, AccessPolicy or MeshSettings")
    .option(
      "--status <status>",
      "changes: only open, approved, applied, rejected, stale, …; traces: ok or error",
    )
    .option("--min-duration <duration>", "traces: only those lasting at least this long (e.g. 250ms)")
    .option("--since <duration>", "traces: from this long ago (default 1h)")
    .option("--slowest", "traces: the slowest first")
    .option("--limit <n>", "traces: at most this many (default 50)");
  for (const o of apiOptions()) cmd.addOption(o);
  return cmd.addOption(outputOption()).action(async (kind: string, name: string | undefined, o: Common) => {
    const k = KINDS[ALIASES[kind] ?? kind];
    if (!k) throw new CliError(`cannot get "${kind}": choose one of ${Object.keys(KINDS).join(", ")}`);
    await k.getter(o, name);
  });
}
