// When recomputes run: debounced, serialized (never two at once), and a change arriving during one causes
// exactly one more. Applied changes go after `debounceMs`; registry changes alone (proxies joining or leaving)
// start at most every `registryIntervalMs`, so a join storm is pushed as a few batches, not one per join.
// A recompute that fails is tried again a little later with what it was to read and record.

/** What a recompute must read again: resources (a change was applied), the registry (proxies came or went). */
export interface Dirty {
  resources: boolean;
  registry: boolean;
}

export type RecomputeFn = (generations: number[], dirty: Dirty) => Promise<void>;

export interface RecomputeSchedulerOptions {
  debounceMs: number;
  registryIntervalMs: number;
  run: RecomputeFn;
  log: (line: string) => void;
  /** Wait before a failed recompute is tried again. */
  retryMs?: number;
}

export interface RecomputeScheduler {
  /** Something changed: `generation` is recorded in its rollout once the recompute has pushed it. */
  schedule(generation?: number, dirty?: Partial<Dirty>): void;
  /** Resolves once what was scheduled has run and nothing more is waiting (tests and `refresh`). */
  settled(): Promise<void>;
  /** No more recomputes: cancels the waiting one and waits for the running one. */
  stop(): Promise<void>;
}

const EVERYTHING: Dirty = { resources: true, registry: true };

export function createRecomputeScheduler(opts: RecomputeSchedulerOptions): RecomputeScheduler {
  const { debounceMs, registryIntervalMs, run, log } = opts;
  const retryMs = opts.retryMs ?? 2_000;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let timerAt = 0;
  let lastRegistryRead = -Infinity;
  let running: Promise<void> | null = null;
  let queuedGenerations: number[] = [];
  let queuedDirty: Dirty = { resources: false, registry: false };

  function schedule(generation?: number, dirty: Partial<Dirty> = EVERYTHING): void {
    if (generation !== undefined) queuedGenerations.push(generation);
    queuedDirty = {
      resources: queuedDirty.resources || (dirty.resources ?? false),
      registry: queuedDirty.registry || (dirty.registry ?? false),
    };
    const now = performance.now();
    // Someone waits for an applied change; proxies coming and going are batched (see registryIntervalMs).
    const urgent = queuedDirty.resources || queuedGenerations.length > 0;
    const at = urgent ? now + debounceMs : Math.max(now + debounceMs, lastRegistryRead + registryIntervalMs);
    if (timer) {
      if (timerAt <= at) return;
      clearTimeout(timer);
    }
    timerAt = at;
    timer = setTimeout(() => {
      timer = null;
      const gens = queuedGenerations;
      const what = queuedDirty;
      queuedGenerations = [];
      queuedDirty = { resources: false, registry: false };
      if (what.registry) lastRegistryRead = performance.now();
      const prev = running ?? Promise.resolve();
      running = prev
        .then(() => run(gens, what))
        .catch((e: unknown) => {
          // What it was to read is read again, with the generations it was to record, a little later.
          log(`control plane: recompute failed (retrying in ${retryMs / 1000} s): ${(e as Error).message}`);
          if (!stopped)
            setTimeout(() => {
              for (const g of gens) queuedGenerations.push(g);
              schedule(undefined, what);
            }, retryMs).unref();
        })
        .finally(() => {
          running = null;
        });
    }, at - now);
  }

  return {
    schedule,
    async settled() {
      await new Promise((r) => setTimeout(r, debounceMs + 5));
      while (running || timer) await (running ?? new Promise((r) => setTimeout(r, 5)));
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
