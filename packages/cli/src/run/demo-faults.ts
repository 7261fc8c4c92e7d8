// The demo's fault switch, on the side of the process that runs the demo (decision 023, "The demo's fault
// switch"): `trellis up --demo` reads the faults set through the API (the DemoFault table) and applies them to
// its demo apps: to their switches in this process, or, for apps in pods, as a JSON line on the app's stdin
// (which only this process holds). Read once a second: the table holds a handful of rows, a person sets them by
// hand, and a second is well inside a rollout step's interval; a LISTEN connection would cost a dedicated
// database connection for the demo's whole life to save under a second.
//
// When to edit this: when the demo's apps gain another way to run (a third mode beside in-process and pods).
import { demoFaultsInForce } from "@trellis/services";
import type { DemoFault } from "@trellis/contracts";
import type { Db } from "@trellis/db";

export const DEMO_FAULT_POLL_MS = 1_000;

/** What one workload's app is told: its fault, or null to answer normally. */
export type ApplyFault = (service: string, version: string, fault: DemoFault | null) => void;

export interface DemoFaultSync {
  /** Reads the table once and applies what changed (the poll does this every second). */
  syncNow(): Promise<void>;
  stop(): Promise<void>;
}

const keyOf = (f: { service: string; version: string }) => `${f.service}/${f.version}`;
const same = (a: DemoFault, b: DemoFault) => a.percent === b.percent && a.latencyMs === b.latencyMs;

/**
 * Applies the faults of `namespace` set in the database to the demo's apps, for workloads `runs` says the demo
 * runs. A read that fails is reported once (until one succeeds) and retried; the apps keep what they had.
 */
export function syncDemoFaults(opts: {
  db: Pick<Db, "demoFault">;
  namespace: string;
  runs: (service: string, version: string) => boolean;
  apply: ApplyFault;
  log: (line: string) => void;
  pollMs?: number;
}): DemoFaultSync {
  const applied = new Map<string, DemoFault>();
  let failing = false;
  let running: Promise<void> = Promise.resolve();
  const sync = async () => {
    let rows: DemoFault[];
    try {
      rows = await demoFaultsInForce(opts.db);
    } catch (e) {
      if (!failing) opts.log(`demo faults: cannot read them (${(e as Error).message}); retrying`);
      failing = true;
      return;
    }
    failing = false;
    const wanted = new Map(
      rows
        .filter((f) => f.namespace === opts.namespace && opts.runs(f.service, f.version))
        .map((f) => [keyOf(f), f]),
    );
    for (const [key, f] of applied)
      if (!wanted.has(key)) {
        opts.apply(f.service, f.version, null);
        applied.delete(key);
        opts.log(`demo: ${f.service} ${f.version} answers normally again`);
      }
    for (const [key, f] of wanted) {
      const before = applied.get(key);
      if (before !== undefined && same(before, f)) continue;
      opts.apply(f.service, f.version, f);
      applied.set(key, f);
      const what = [
        ...(f.percent > 0 ? [`${f.percent} % errors`] : []),
        ...(f.latencyMs > 0 ? [`+${f.latencyMs} ms`] : []),
      ].join(", ");
      opts.log(`demo: ${f.service} ${f.version} fails on purpose: ${what}`);
    }
  };
  const syncNow = () => (running = running.then(sync));
  const timer = setInterval(() => void syncNow(), opts.pollMs ?? DEMO_FAULT_POLL_MS);
  timer.unref();
  void syncNow();
  return {
    syncNow,
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
