// `trellis up --demo --pods`: the demo mesh as a platform team runs a mesh, on this machine. Every workload in
// a pod of its own (a network namespace of the pod bed, @trellis/pods) named `trellis-demo-<service>-<version>`,
// its app unchanged — it calls `http://details.demo:9080/…` by name, as any app does — and its sidecar
// (`trellis proxy --capture`) capturing the pod's traffic and answering its DNS. The processes are the ones a
// user would run by hand (`trellis demo app … --by-name`, `trellis proxy … --capture`), so this is also their
// test. The control plane and the console stay on the host; pods reach the control plane on the bed's gateway
// address. Ctrl-C (stop) ends every process by PID and removes every pod.
//
//   browser / generator → 127.0.0.1:9080 (a relay in this process) → ingress pod :9080, the gateway app
//     → productpage.demo:9080 (captured by the ingress pod's sidecar) ⇒ mTLS ⇒ productpage pod …
//
// When to edit this: when a workload is added to the demo (DEMO_APPS, DEMO_APP_PROTOCOL in @trellis/demo).
import type { ChildProcess } from "node:child_process";
import type { Writable } from "node:stream";
import type { DemoFault } from "@trellis/contracts";
import {
  DEMO_APP_PROTOCOL,
  DEMO_APPS,
  DEMO_NAMESPACE,
  DEMO_SERVICE_PORT,
  FEED_PATH,
  startTrafficWorkload,
  type DemoAppName,
  type RunningTraffic,
  type TrafficStats,
} from "@trellis/demo";
import { relay, type Bed, type Exposed } from "@trellis/pods";
import {
  podResolvConf,
  podSidecarArgs,
  SIDECAR_READY,
  startInPod,
  stopPodProcesses,
} from "./pod-processes.js";

export interface PodDemoOptions {
  /** The bed the pods go in; made before the control plane, whose certificate names `bed.gateway`. */
  bed: Bed;
  /** The control plane as this machine reaches it; pods reach it at `https://<gateway>:<port>`. */
  controlPlane: { host: string; port: number };
  /** A join token for the namespace `demo`: given to each sidecar in its environment, never on a command line. */
  token: string;
  /** The ingress's port on 127.0.0.1, where a browser opens the demo. */
  ingressPort: number;
  rps: number;
  /** Lines worth showing a person; `verbose`: every line the pods' processes write. */
  log: (line: string) => void;
  verbose: boolean;
}

export interface PodDemo {
  ingressPort: number;
  rps: number;
  /** Each workload's pod: `trellis-demo-reviews-v2` → its address. */
  pods: { name: string; ip: string }[];
  traffic(): TrafficStats;
  /** Whether a workload's app runs in a pod here and takes faults (every one but the ingress's gateway). */
  runs(service: string, version: string): boolean;
  /** Tells a workload's app its fault (null: none), as a JSON line on its stdin, which only this process holds. */
  applyFault(service: string, version: string, fault: DemoFault | null): void;
  stop(): Promise<void>;
}

/** A pod's name: `trellis-<namespace>-<service>-<version>`. */
export const podName = (service: string, version: string): string =>
  `trellis-${DEMO_NAMESPACE}-${service}-${version}`;

/** Starts every demo workload in its own pod; resolves once every sidecar is in the mesh and traffic flows. */
export async function startPodDemo(opts: PodDemoOptions): Promise<PodDemo> {
  const { bed } = opts;
  const processes: ChildProcess[] = [];
  const relays: Exposed[] = [];
  // Each app's stdin, by `<service>/<version>`: the fault switch's only way in (run/demo-faults.ts).
  const faultInputs = new Map<string, Writable>();
  let traffic: RunningTraffic | null = null;
  let stopping = false;
  const stop = async () => {
    stopping = true;
    await traffic?.close().catch(() => {});
    await Promise.all(relays.map((r) => r.close()));
    await stopPodProcesses(processes);
  };
  const exited = (what: string, code: number | null) => {
    if (!stopping) opts.log(`${what} exited (code ${code}); its pod stays, without it`);
  };

  try {
    // Pods reach the control plane on the gateway address: a relay to it there, unless it listens on every
    // address already (--host 0.0.0.0), which includes the gateway's.
    const cpHost = opts.controlPlane.host;
    if (cpHost !== "0.0.0.0" && cpHost !== bed.gateway)
      relays.push(await bed.expose({ to: { host: cpHost, port: opts.controlPlane.port } }));
    const controlPlaneUrl = `https://${bed.gateway}:${opts.controlPlane.port}`;

    const workloads = (Object.keys(DEMO_APPS) as DemoAppName[]).flatMap((name) =>
      DEMO_APPS[name].map((version) => ({ name, version })),
    );
    const pods = await Promise.all(
      workloads.map(async (w) => {
        const pod = await bed.addPod({ name: podName(w.name, w.version) });
        // The pod's resolver is its sidecar; bare names through the search list, as in Kubernetes.
        await pod.setResolvConf(podResolvConf(DEMO_NAMESPACE));
        return { ...w, pod };
      }),
    );

    await Promise.all(
      pods.map(async ({ name, version, pod }) => {
        // The sidecar first: its capture is in place before the app makes its first call.
        const sidecar = startInPod(pod, {
          what: `demo ${name}-${version} sidecar`,
          args: podSidecarArgs({
            controlPlanes: [controlPlaneUrl],
            namespace: DEMO_NAMESPACE,
            service: name,
            version,
            appPort: DEMO_SERVICE_PORT,
            appProtocol: DEMO_APP_PROTOCOL[name],
            pod,
            labels: { app: name, demo: "true" },
            // The ingress's app is the gateway a browser opens from outside the mesh: its inbound is not mesh
            // traffic (under strict mTLS its sidecar would refuse it).
            captureInbound: name !== "ingress",
          }),
          env: { TRELLIS_JOIN_TOKEN: opts.token },
          ready: SIDECAR_READY,
          log: opts.log,
          verbose: opts.verbose,
          exited,
        });
        const app = startInPod(pod, {
          what: `demo ${name}-${version} app`,
          args: [
            "demo",
            "app",
            name,
            ...["--version", version, "--port", String(DEMO_SERVICE_PORT), "--host", "0.0.0.0"],
            "--by-name",
            ...(name === "ingress" ? [] : ["--faults-from-stdin"]),
          ],
          // The standard OpenTelemetry variable: productpage sends its own spans to its sidecar (admin port).
          env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://127.0.0.1:15000/v1/traces" },
          ready: /trellis demo: .* on http/,
          log: opts.log,
          verbose: opts.verbose,
          exited,
        });
        const started = await Promise.allSettled([sidecar, app]);
        for (const s of started) if (s.status === "fulfilled") processes.push(s.value.child);
        for (const s of started) if (s.status === "rejected") throw s.reason;
        const appStdin = (started[1] as PromiseFulfilledResult<{ child: ChildProcess }>).value.child.stdin;
        if (name !== "ingress" && appStdin) {
          appStdin.on("error", () => {}); // an app that exited: exited() has said so
          faultInputs.set(`${name}/${version}`, appStdin);
        }
      }),
    );

    // A browser on this machine opens the ingress pod's gateway through a relay on 127.0.0.1.
    const ingress = pods.find((p) => p.name === "ingress")!.pod;
    const front = await relay({
      listen: { host: "127.0.0.1", port: opts.ingressPort },
      to: { host: ingress.ip, port: DEMO_SERVICE_PORT },
    }).catch((e: Error) => {
      throw new Error(
        /EADDRINUSE/.test(e.message)
          ? `port ${opts.ingressPort} on 127.0.0.1 is in use: choose another port for the demo's ingress`
          : e.message,
      );
    });
    relays.push(front);

    const ingressUrl = `http://127.0.0.1:${front.port}`;
    traffic = await startTrafficWorkload({
      url: `${ingressUrl}/productpage`,
      feedUrl: `ws://127.0.0.1:${front.port}${FEED_PATH}`,
      rps: opts.rps,
    });
    const running = traffic;
    return {
      ingressPort: front.port,
      rps: opts.rps,
      pods: pods.map((p) => ({ name: p.pod.name, ip: p.pod.ip })),
      traffic: () => running.stats(),
      runs: (service, version) => faultInputs.has(`${service}/${version}`),
      applyFault: (service, version, fault) => {
        const line = fault === null ? null : { percent: fault.percent, latencyMs: fault.latencyMs };
        faultInputs.get(`${service}/${version}`)?.write(`${JSON.stringify(line)}\n`);
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
