// `trellis demo`: the demo mesh's parts one at a time, for a mesh where every workload and every sidecar is its
// own process or container (docker-compose.yml's demo profile). `trellis up --demo` runs them all in one
// process instead. Edit when the demo gains a workload (DEMO_APP_NAMES, and its app in @trellis/demo).
import { Argument, Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_LISTENERS } from "@trellis/contracts";
import { CliError } from "../errors.js";
import { hostPort, parsePort } from "../ports.js";
import { drainOnSignals } from "../signals.js";
import { parseRps } from "./up.js";
import { demoFailCommand } from "./demo-fail.js";

/**
 * The apps `trellis demo app` runs: @trellis/demo's DEMO_APPS, repeated so that parsing a command line (and
 * --help) loads no data plane; a test keeps the two lists equal.
 */
export const DEMO_APP_NAMES = ["productpage", "details", "reviews", "ratings", "feed", "ingress"] as const;

/** Defaults that match `trellis proxy`'s, so a pod's app and sidecar agree without saying so. */
const APP_PORT = 9080;
const SIDECAR_OUTBOUND_PORT = DEFAULT_LISTENERS.outbound.port;

function seconds(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError("must be a number of seconds");
  return Number(value);
}

export function demoCommand(): Command {
  const demo = new Command("demo")
    .description(
      "the demo mesh's parts one at a time: an app, the traffic generator, the initial state (for docker-compose.yml's demo profile); and its fault switch (demo fail)",
    )
    .addHelpText(
      "after",
      `
Each app runs beside its own sidecar (\`trellis proxy\`) on the same host or in the same network namespace,
and sends its calls to that sidecar's outbound listener with Host: <service>. \`trellis up --demo\` runs the
whole demo in one process instead.`,
    );

  demo.addCommand(
    new Command("app")
      .description("run one demo app; it calls other services through its sidecar's outbound listener")
      .addArgument(new Argument("<name>", "which app").choices(DEMO_APP_NAMES))
      .option("--version <version>", "which version (reviews comes in v1, v2 and v3)", "v1")
      .addOption(
        new Option("--port <port>", "port the app listens on; its sidecar's --app-port")
          .default(APP_PORT)
          .argParser(parsePort),
      )
      .option(
        "--host <address>",
        "address the app listens on: only its sidecar reaches 127.0.0.1; the ingress listens on 0.0.0.0 for browsers",
        "127.0.0.1",
      )
      .addOption(
        new Option("--outbound-port <port>", "its sidecar's outbound listener on 127.0.0.1")
          .default(SIDECAR_OUTBOUND_PORT)
          .argParser(parsePort),
      )
      .option(
        "--faults-from-stdin",
        "take the fault switch's state (trellis demo fail) as JSON lines on stdin, from the process that started the app",
        false,
      )
      .option(
        "--by-name",
        "call other services by name (http://details.demo:9080), as an unchanged app does, for a pod whose sidecar captures its traffic (trellis proxy --capture)",
        false,
      )
      .addHelpText(
        "after",
        `
Example (a pod: the app, and its sidecar in the same network namespace):
  trellis demo app reviews --version v2 --port 9080
  TRELLIS_JOIN_TOKEN=tj1.… trellis proxy --control-plane https://cp:15010 \\
      --namespace demo --service reviews --version v2 --app-port 9080
ratings is a gRPC server (HTTP/2 without TLS): its sidecar needs --app-protocol h2c.
productpage records spans of its own (OpenTelemetry SDK) when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, e.g.
http://127.0.0.1:15000/v1/traces (its sidecar's admin listener relays them).`,
      )
      .action(
        async (
          name: (typeof DEMO_APP_NAMES)[number],
          o: {
            version: string;
            port: number;
            host: string;
            outboundPort: number;
            byName: boolean;
            faultsFromStdin: boolean;
          },
        ) => {
          const { startDemoApp, DEMO_NAMESPACE, DEMO_SERVICE_PORT, FaultSwitch, faultCommandsFrom } =
            await import("@trellis/demo");
          const fault = o.faultsFromStdin ? new FaultSwitch() : undefined;
          if (fault) faultCommandsFrom(process.stdin, fault, (l) => console.error(`trellis demo: ${l}`));
          let app;
          try {
            app = await startDemoApp({
              name,
              version: o.version,
              listen: { host: o.host, port: o.port },
              calls: o.byName ? { namespace: DEMO_NAMESPACE } : { outboundPort: o.outboundPort },
              ...(fault ? { fault } : {}),
              // OpenTelemetry's own variable, as any instrumented app reads it (productpage sends spans there).
              ...(process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
                ? { spans: process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT }
                : {}),
            });
          } catch (e) {
            throw new CliError((e as Error).message);
          }
          console.error(
            `trellis demo: ${name} ${o.version} on ${app.url}, calling other services ${o.byName ? `by name (http://<service>.${DEMO_NAMESPACE}:${DEMO_SERVICE_PORT})` : `via 127.0.0.1:${o.outboundPort}`}`,
          );
          drainOnSignals("trellis demo", () => app.close());
        },
      ),
  );

  demo.addCommand(
    new Command("traffic")
      .description("send a steady rate of requests and report how they were answered")
      .requiredOption("--target <url>", "what to request, e.g. http://productpage/productpage")
      .option(
        "--feed <url>",
        "also hold WebSocket sessions with the live feed, one message per request, e.g. ws://feed/feed",
      )
      .addOption(new Option("--rps <n>", "requests per second; 0: none").default(5).argParser(parseRps))
      .addOption(
        new Option(
          "--via <host:port>",
          "connect here, with the target's host as Host: its sidecar's outbound listener",
        ).argParser(hostPort),
      )
      .addOption(
        new Option(
          "--port <port>",
          "serve GET /stats (the counts as JSON) and /health on this port",
        ).argParser(parsePort),
      )
      .option("--host <address>", "address --port listens on", "127.0.0.1")
      .addOption(
        new Option("--report-every <seconds>", "print the counts this often; 0: only when stopped")
          .default(10)
          .argParser(seconds),
      )
      .addHelpText(
        "after",
        `
Examples:
  trellis demo traffic --target http://productpage/productpage --via 127.0.0.1:15001 --rps 5 --port 9080
      inside the mesh: through its own sidecar (which needs --app-port 9080), over mTLS
  trellis demo traffic --target http://localhost:9080/productpage --rps 20
      from outside: through the demo's ingress`,
      )
      .action(
        async (o: {
          target: string;
          feed?: string;
          rps: number;
          via?: { address: string; port: number };
          port?: number;
          host: string;
          reportEvery: number;
        }) => {
          let url: URL;
          try {
            url = new URL(o.target);
          } catch {
            throw new CliError(`--target ${o.target} is not a URL (e.g. http://productpage/productpage)`);
          }
          if (url.protocol !== "http:") throw new CliError("--target must be an http:// URL");
          let feed: URL | undefined;
          if (o.feed !== undefined) {
            try {
              feed = new URL(o.feed);
            } catch {
              throw new CliError(`--feed ${o.feed} is not a URL (e.g. ws://feed/feed)`);
            }
            if (feed.protocol !== "ws:") throw new CliError("--feed must be a ws:// URL");
          }
          const { startTrafficWorkload } = await import("@trellis/demo");
          let traffic;
          try {
            traffic = await startTrafficWorkload({
              url: url.href,
              ...(feed ? { feedUrl: feed.href } : {}),
              rps: o.rps,
              ...(o.via ? { via: { host: o.via.address, port: o.via.port } } : {}),
              ...(o.port !== undefined ? { listen: { host: o.host, port: o.port } } : {}),
            });
          } catch (e) {
            throw new CliError((e as Error).message);
          }
          const report = () => {
            const s = traffic.stats();
            const outcomes = Object.entries(s.byOutcome)
              .map(([k, n]) => `${k} ${n}`)
              .join(", ");
            const f = s.feed;
            console.log(
              `trellis demo traffic: ${s.sent} sent, ${s.ok} ok, ${s.failed} failed, ${s.skipped} skipped${outcomes ? ` (${outcomes})` : ""}` +
                (feed
                  ? `; feed: ${f.sessions} sessions, ${f.sent} sent, ${f.answered} answered, ${f.failed} failed`
                  : ""),
            );
          };
          console.error(
            `trellis demo traffic: ${o.rps} req/s to ${url.href}${o.via ? ` via ${o.via.address}:${o.via.port}` : ""}${o.port !== undefined ? `; counts on ${traffic.url}/stats` : ""}`,
          );
          const timer = o.reportEvery > 0 ? setInterval(report, o.reportEvery * 1000) : null;
          drainOnSignals("trellis demo traffic", async () => {
            if (timer) clearInterval(timer);
            await traffic.close();
            report();
          });
        },
      ),
  );

  demo.addCommand(
    new Command("seed")
      .description(
        "seed the demo's initial state (mTLS strict, all reviews traffic to v1) and create a join token for its sidecars",
      )
      .option(
        "--token-file <file>",
        "write the join token here (mode 0600), for `trellis proxy --token-file`; default: print it on stdout",
      )
      .addOption(
        new Option("--wait <seconds>", "wait this long for the database and the control plane's mesh CA")
          .default(120)
          .argParser(seconds),
      )
      .addHelpText(
        "after",
        `
Needs DATABASE_URL (the control plane's database). Safe to run again: the initial state is created only
when missing (changes people made since are kept); each run creates a new join token.`,
      )
      .action(async (o: { tokenFile?: string; wait: number }) => {
        const url = process.env.DATABASE_URL;
        if (!url) throw new CliError("DATABASE_URL is required: the database of the control plane to seed");
        const { createDb } = await import("@trellis/db");
        const { seedDemo, waitForMeshCa } = await import("../run/demo-seed.js");
        const say = (l: string) => console.error(`trellis demo seed: ${l}`);
        const db = createDb(url, { max: 1 });
        let token: string;
        try {
          await waitForMeshCa(url, db, o.wait * 1000, say);
          const seed = await seedDemo(db, "trellis demo seed");
          say(seed.seeded ?? "the demo's initial state is there already; left as it is");
          token = seed.token;
        } finally {
          await db.$disconnect();
        }
        if (o.tokenFile === undefined) return void console.log(token);
        await writeSecretFile(o.tokenFile, token + "\n");
        say(`wrote a join token for the namespace demo to ${o.tokenFile}`);
      }),
  );
  demo.addCommand(demoFailCommand());
  return demo;
}

/** Writes a secret whole or not at all (a sidecar starting beside it never reads half), readable by us only. */
async function writeSecretFile(file: string, content: string): Promise<void> {
  const { mkdir, rename, writeFile } = await import("node:fs/promises");
  const { dirname } = await import("node:path");
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(tmp, content, { mode: 0o600 });
    await rename(tmp, file);
  } catch (e) {
    throw new CliError(`cannot write ${file}: ${(e as Error).message}`);
  }
}
