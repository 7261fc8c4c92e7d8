// The demo's fault switch, on the app's side (decision 023, "The demo's fault switch"): each demo app reads its
// workload's switch once per request. Off (the usual case) costs one property read; on, the request waits the
// fault's latency, then a share of requests is answered with an error: HTTP 500, or for a gRPC call the status
// UNAVAILABLE (what a gRPC client of a failing server sees), so the callers' telemetry counts it as an error
// either way. `/health` is never failed: the demo shows a version that answers badly, not one that is down.
//
// The switch is set by whoever runs the app: `trellis up --demo` in this process (DemoFaults below), or, for an
// app in a pod, the `trellis up` process over the app's stdin (faultCommandsFrom).
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { ZDemoFault, type DemoFault } from "@trellis/contracts";

/** What one workload's switch holds: a share of errors (0–100) and latency added before every answer. */
export interface FaultState {
  percent: number;
  latencyMs: number;
}

/** One workload's switch. `state` null: the app answers as it always does. */
export class FaultSwitch {
  state: FaultState | null = null;

  set(state: FaultState | null): void {
    this.state = state !== null && (state.percent > 0 || state.latencyMs > 0) ? { ...state } : null;
  }
}

/**
 * Whether this request is to be failed, after the fault's latency. Synchronous `false` when the switch is off,
 * so an app without a fault awaits nothing.
 */
export function faultGate(sw: FaultSwitch | undefined): false | Promise<boolean> {
  const s = sw?.state;
  if (s === null || s === undefined) return false;
  const fail = s.percent > 0 && Math.random() * 100 < s.percent;
  return s.latencyMs > 0 ? sleep(s.latencyMs).then(() => fail) : Promise.resolve(fail);
}

/** The body of a failed HTTP answer; the callers' logs and the console's traces show it. */
export const FAULT_MESSAGE = "demo fault: failing on purpose (trellis demo fail)";

/** The switches of the demo's workloads in this process, by `<service>-<version>`. */
export class DemoFaults {
  readonly #switches = new Map<string, FaultSwitch>();
  readonly #faults = new Map<string, DemoFault>();

  constructor(readonly namespace: string) {}

  /** The switch of one workload, made on first use (the app is given it when it starts). */
  switchOf(service: string, version: string): FaultSwitch {
    const key = `${service}-${version}`;
    let sw = this.#switches.get(key);
    if (sw === undefined) this.#switches.set(key, (sw = new FaultSwitch()));
    return sw;
  }

  /** Whether the demo runs this workload's app here. */
  has(service: string, version: string): boolean {
    return this.#switches.has(`${service}-${version}`);
  }

  /** Puts `fault` in force on its workload, or clears the workload's fault (`clear` given instead). */
  apply(fault: DemoFault | { clear: { service: string; version: string } }): void {
    const [service, version] =
      "clear" in fault ? [fault.clear.service, fault.clear.version] : [fault.service, fault.version];
    if (!this.has(service, version))
      throw new Error(`the demo runs no ${service} ${version} in ${this.namespace}`);
    const key = `${service}-${version}`;
    if ("clear" in fault) {
      this.#faults.delete(key);
      this.#switches.get(key)!.set(null);
    } else {
      this.#faults.set(key, { ...fault });
      this.#switches.get(key)!.set({ percent: fault.percent, latencyMs: fault.latencyMs });
    }
  }

  /** The faults in force, by service then version. */
  list(): DemoFault[] {
    return [...this.#faults.values()].sort(
      (a, b) => a.service.localeCompare(b.service) || a.version.localeCompare(b.version),
    );
  }
}

/**
 * For an app in its own process: reads fault states from `input` (its stdin, which only the process that
 * started it holds), one JSON line each, `{"percent":50,"latencyMs":0}` or `null` to clear. A line that does not
 * parse is reported and ignored; the switch keeps its state.
 */
const ZFaultState = ZDemoFault.pick({ percent: true, latencyMs: true }).nullable();

export function faultCommandsFrom(input: Readable, sw: FaultSwitch, report: (line: string) => void): void {
  let partial = "";
  input.setEncoding("utf8");
  input.on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      if (line.trim() === "") continue;
      try {
        const parsed = ZFaultState.safeParse(JSON.parse(line));
        if (!parsed.success) throw new Error("expected {percent, latencyMs} or null");
        sw.set(parsed.data);
        report(sw.state === null ? "fault cleared" : `fault set: ${JSON.stringify(sw.state)}`);
      } catch (e) {
        report(`ignored a fault command: ${(e as Error).message}`);
      }
    }
  });
}
