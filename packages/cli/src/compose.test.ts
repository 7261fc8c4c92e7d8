// docker-compose.yml without Docker: every container's command is a `trellis` invocation the CLI's own parser
// accepts, every sidecar sits in an app's network namespace and reaches the control plane, the pieces of a
// pod agree on their ports, and no two listeners in one network namespace (or on the host) clash.
// compose-run.test.ts then runs the demo's commands as processes.
import { describe, expect, it } from "vitest";
import { DEMO_APPS } from "@trellis/demo";
import { DEMO_APP_NAMES } from "./commands/demo.js";
import {
  demoPods,
  dockerfileCmd,
  loadCompose,
  parseTrellis,
  podPorts,
  splitCommand,
  UsageError,
  type ParsedCommand,
} from "./test-support/compose.js";

const services = loadCompose();
// Built on first use, so that a command the parser refuses fails the first test by name, not the whole file.
let podsCache: ReturnType<typeof demoPods> | null = null;
const pods = () => (podsCache ??= demoPods(services));
const trellisServices = [...services.values()].filter((s) => s.image === "trellis:local");
const parsedOf = (name: string): ParsedCommand => {
  const s = services.get(name)!;
  return parseTrellis(s.command ?? dockerfileCmd(), s.environment);
};

describe("the command parser these tests use", () => {
  it("is the CLI's: it refuses what `trellis` refuses", () => {
    expect(() => parseTrellis(["proxy", "--app-port", "70000"])).toThrow(UsageError);
    expect(() => parseTrellis(["proxy", "--no-such-flag"])).toThrow(/unknown option '--no-such-flag'/);
    expect(() => parseTrellis(["demo", "app", "frontend"])).toThrow(/Allowed choices are/);
    expect(() => parseTrellis(["demo"])).toThrow(UsageError);
    expect(parseTrellis(["proxy", "--app-port", "8080"]).opts).toMatchObject({
      appPort: 8080,
      outboundPort: 15001,
    });
  });

  it("splits a string command as Compose does, and refuses one it would have to guess at", () => {
    expect(splitCommand("demo  app\n  details --port 9080", "x")).toEqual([
      "demo",
      "app",
      "details",
      "--port",
      "9080",
    ]);
    expect(() => splitCommand('proxy --label "a=b c"', "x")).toThrow(/free of quotes/);
  });
});

describe("docker-compose.yml", () => {
  it("runs a valid `trellis` command in every container built from the image", () => {
    expect(trellisServices.length).toBeGreaterThan(10);
    for (const s of trellisServices) {
      expect(() => parsedOf(s.name), s.name).not.toThrow();
    }
    // And the image's default command.
    expect(parseTrellis(dockerfileCmd()).path).toEqual(["up"]);
  });

  it("has the base stack outside any profile and everything of the demo in the demo profile", () => {
    const base = [...services.values()].filter((s) => s.profiles.length === 0).map((s) => s.name);
    expect(base.sort()).toEqual(["console", "controlplane", "postgres"]);
    for (const s of services.values())
      if (!base.includes(s.name)) expect(s.profiles, s.name).toEqual(["demo"]);
  });

  it("has a pod (app + sidecar) for every workload of the local demo, and the traffic generator", () => {
    const workloads = [...pods().values()].map((p) => {
      const o = p.sidecar.parsed.opts;
      return `${o.namespace}/${o.service} ${o.version}`;
    });
    const expected = Object.entries(DEMO_APPS).flatMap(([name, versions]) =>
      versions.map((v) => `demo/${name} ${v}`),
    );
    expect(workloads.sort()).toEqual([...expected, "demo/traffic v1"].sort());
    // The CLI's list of apps (kept so its parser loads no data plane) is the demo package's.
    expect([...DEMO_APP_NAMES].sort()).toEqual(Object.keys(DEMO_APPS).sort());
  });

  it("gives every sidecar an app in whose network namespace it runs, and agrees with that app", () => {
    for (const pod of pods().values()) {
      const { app, sidecar } = pod;
      const a = app.parsed;
      const s = sidecar.parsed.opts;
      expect(sidecar.parsed.path, sidecar.name).toEqual(["proxy"]);
      expect(a.path[0], app.name).toBe("demo");
      expect(app.networkMode, `${app.name} owns its network namespace`).toBeUndefined();
      // The app is what the sidecar says it serves.
      if (a.path[1] === "app") {
        expect([s.service, s.version], sidecar.name).toEqual([a.args[0], a.opts.version]);
        expect(DEMO_APPS[a.args[0] as keyof typeof DEMO_APPS], app.name).toContain(a.opts.version);
      } else {
        expect(a.path, app.name).toEqual(["demo", "traffic"]);
        expect(s.service, sidecar.name).toBe("traffic");
      }
      expect(s.namespace, sidecar.name).toBe("demo");
      // Inbound requests reach the app; the app's calls reach the sidecar's outbound listener.
      expect(s.appPort, `${sidecar.name} --app-port`).toBe(a.opts.port);
      const outbound =
        a.path[1] === "app" ? a.opts.outboundPort : (a.opts.via as { address: string; port: number }).port;
      expect(outbound, `${app.name}: calls go to its sidecar's outbound port`).toBe(s.outboundPort);
      if (a.path[1] === "traffic")
        expect((a.opts.via as { address: string }).address, app.name).toBe("127.0.0.1");
      // Other sidecars reach this one by the app's name: the network namespace's DNS name.
      expect(s.advertiseAddress, `${sidecar.name} --advertise-address`).toBe(app.name);
      expect(sidecar.dependsOn["demo-seed"]?.condition, sidecar.name).toBe("service_completed_successfully");
    }
  });

  it("points every sidecar at the control plane, whose certificate names the host they dial", () => {
    const cp = parsedOf("controlplane");
    expect(cp.path).toEqual(["controlplane"]);
    for (const pod of pods().values()) {
      const urls = pod.sidecar.parsed.opts.controlPlane as string[];
      expect(urls, `${pod.sidecar.name}: one replica in compose`).toHaveLength(1);
      const url = new URL(urls[0]!);
      expect(url.protocol, pod.sidecar.name).toBe("https:");
      expect(
        services.get(url.hostname)?.command?.[0],
        `${pod.sidecar.name} dials a controlplane service`,
      ).toBe("controlplane");
      expect(Number(url.port), pod.sidecar.name).toBe(cp.opts.port);
      expect(
        cp.opts.advertise as string[],
        "the control plane's certificate names its compose host",
      ).toContain(url.hostname);
    }
  });

  it("gives the mesh secret (it decrypts the CA key) to the control plane only", () => {
    const holders = [...services.values()].filter((s) => s.environment.TRELLIS_SECRET !== undefined);
    expect(holders.map((s) => s.name)).toEqual(["controlplane"]);
  });

  it("shows people a control-plane address `trellis proxy` accepts", () => {
    const url = new URL(services.get("console")!.environment.TRELLIS_CONTROL_PLANE_URL!);
    expect(url.protocol).toBe("https:");
    expect(Number(url.port)).toBe(parsedOf("controlplane").opts.port);
    // Published on the host, and named by the control plane's certificate (it always names localhost).
    expect(services.get("controlplane")!.ports).toContain(`${url.port}:${url.port}`);
    expect(url.hostname).toBe("localhost");
  });

  it("hands the seeded join token to every sidecar through one volume", () => {
    const seed = services.get("demo-seed")!;
    const parsed = parsedOf("demo-seed");
    expect(parsed.path).toEqual(["demo", "seed"]);
    // A one-shot: restarted, it would mint a join token each time.
    expect(seed.restart).toBe("no");
    expect(seed.environment.DATABASE_URL).toMatch(/^postgresql:\/\/.*@postgres:5432\//);
    const file = parsed.opts.tokenFile as string;
    const mountOf = (volumes: string[]) =>
      volumes.map((v) => v.split(":")).find(([, target]) => file.startsWith(`${target}/`));
    const [volume] = mountOf(seed.volumes) ?? [];
    expect(volume, "demo-seed writes the token into a volume").toBeDefined();
    for (const pod of pods().values()) {
      expect(pod.sidecar.parsed.opts.tokenFile, pod.sidecar.name).toBe(file);
      expect(mountOf(pod.sidecar.volumes)?.[0], `${pod.sidecar.name} mounts ${volume}`).toBe(volume);
      expect(
        pod.sidecar.parsed.opts.token,
        `${pod.sidecar.name}: no token on its command line`,
      ).toBeUndefined();
    }
  });

  it("has no two listeners on one port in a network namespace, nor two services on one host port", () => {
    for (const pod of pods().values()) {
      const ports = podPorts(pod);
      expect(new Set(Object.values(ports)).size, `${pod.name}: ${JSON.stringify(ports)}`).toBe(4);
    }
    const published = [...services.values()].flatMap((s) =>
      s.ports.map((p) => ({ s, host: p.split(":")[0]! })),
    );
    expect(new Set(published.map((p) => p.host)).size, JSON.stringify(published.map((p) => p.host))).toBe(
      published.length,
    );
    // A published port is one the service listens on, on every address (not only its loopback).
    for (const { s } of published) {
      expect(s.networkMode, `${s.name} publishes ports, so it owns its network namespace`).toBeUndefined();
      const p = parsedOf(s.name);
      for (const mapping of s.ports) {
        const container = Number(mapping.split(":").at(-1));
        expect([p.opts.port, p.opts.host], `${s.name} publishes ${mapping}`).toEqual([container, "0.0.0.0"]);
      }
    }
  });

  it("keeps every demo app off the network but for its sidecar, except the ingress browsers open", () => {
    for (const pod of pods().values()) {
      const host = pod.app.parsed.opts.host;
      if (pod.app.ports.length > 0) expect(host, pod.name).toBe("0.0.0.0");
      else expect(host, `${pod.name} listens on its pod's loopback only`).toBe("127.0.0.1");
    }
    expect(pods().get("ingress")?.app.ports).toEqual(["9080:9080"]);
  });
});
