// `trellis proxy` runs one sidecar per workload, so what its process loads is paid once per pod
// (docs/decisions/018-sidecar-memory.md). main.ts parses `trellis proxy …` with this program: the same root and
// the same proxy command as program.ts's, without the other commands' modules (and what they import: the whole
// of @trellis/contracts, the REST client, …), after tuning V8 for a proxy, before anything of the proxy loads.
import type { Command } from "commander";
import { addSubcommand, rootCommand } from "./root.js";

export async function buildProxyProgram(): Promise<Command> {
  // TRELLIS_PROXY_NODE_DEFAULTS=1 keeps Node's own V8 settings (more memory; see v8-tuning.ts for the trade).
  if (process.env.TRELLIS_PROXY_NODE_DEFAULTS !== "1") {
    const { tuneV8ForProxy } = await import("@trellis/dataplane/v8-tuning");
    tuneV8ForProxy();
  }
  const { proxyCommand } = await import("./commands/proxy.js");
  const program = rootCommand();
  addSubcommand(program, proxyCommand());
  return program;
}
