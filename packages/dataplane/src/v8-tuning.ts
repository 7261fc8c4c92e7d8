// V8 settings for a process whose one job is a sidecar: `trellis proxy` applies them before it loads the proxy,
// and the benchmarks' proxies do the same, so that what they measure is what users run. Set at run time with
// v8.setFlagsFromString, not as node options: V8 reads these flags where it uses them (each time the young
// generation would grow; each time it compiles WebAssembly), so no re-exec and no NODE_OPTIONS are needed, and a
// process that embeds startProxy (tests, the demo) keeps Node's defaults unless it calls this.
// Why (measured in docs/decisions/018-sidecar-memory.md):
// - The young generation: Node lets it grow to 2 × 16 MB as soon as allocation is brisk (module loading, the
//   first requests); a proxy's garbage dies with its request, so most of that bought nothing and cost up to
//   30 MB of RSS. It stays at its initial 2 × 1 MB while the proxy loads (tuneV8ForProxy), and may grow to
//   2 × 2 MB once the proxy serves (tuneV8ForTraffic): at 2 × 1 MB a request cost ~5 % more CPU in scavenges,
//   at 2 × 2 MB no more than with Node's default.
// - --no-wasm-dynamic-tiering --no-wasm-tier-up: undici parses HTTP/1.1 with llhttp compiled to WebAssembly, and
//   V8's optimising compile of llhttp's one big state-machine function needs a ~35 MB zone for a second or two,
//   a few seconds into the first load: that was the proxy's peak RSS. Liftoff's baseline code runs instead:
//   ~1 µs more per response head parsed, within the benchmark's noise.
import { PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";

export const PROXY_V8_FLAGS = [
  "--semi-space-growth-factor=1",
  "--no-wasm-dynamic-tiering",
  "--no-wasm-tier-up",
] as const;

/** The young generation's size once the proxy serves: two semi-spaces of 2 MB. */
export const YOUNG_GENERATION_BYTES = 2 * 2 * 1024 * 1024;

let applied = false;
let observer: PerformanceObserver | null = null;

/** Applies PROXY_V8_FLAGS to this process (once). Call it before importing the proxy. */
export function tuneV8ForProxy(): void {
  if (applied) return;
  applied = true;
  for (const flag of PROXY_V8_FLAGS) setFlagsFromString(flag);
}

/**
 * Once the proxy serves: lets the young generation grow to YOUNG_GENERATION_BYTES and no further (V8 takes its
 * maximum only at start-up, so after each garbage collection the growth factor is set to 2 below the size and
 * to 1 at it; V8 also shrinks it again when the process idles). Does nothing unless tuneV8ForProxy ran.
 */
export function tuneV8ForTraffic(): void {
  if (!applied || observer !== null) return;
  let growing = false;
  const steer = () => {
    const young = getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
    if (young === undefined) return;
    const grow = young.space_size < YOUNG_GENERATION_BYTES;
    if (grow === growing) return;
    growing = grow;
    setFlagsFromString(grow ? "--semi-space-growth-factor=2" : "--semi-space-growth-factor=1");
  };
  observer = new PerformanceObserver(steer);
  observer.observe({ entryTypes: ["gc"] });
  steer();
}

/** The young generation's committed size (both semi-spaces), for tests and benchmarks. */
export function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
}
