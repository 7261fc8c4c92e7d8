/**
 * For commands that run until stopped (a proxy, a demo workload): SIGTERM or SIGINT drains with `close`, then
 * exits 0 (1 when the drain fails). `name` prefixes the lines it prints.
 */
export function drainOnSignals(name: string, close: () => Promise<void>): void {
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`${name}: ${sig}, draining`);
    close().then(
      () => {
        console.error(`${name}: drained`);
        process.exit(0);
      },
      (e: Error) => {
        console.error(`${name}: drain failed: ${e.message}`);
        process.exit(1);
      },
    );
  };
  // This process owns its signals. A dependency loaded by another command may have installed an exit hook
  // that calls process.exit on SIGTERM and SIGINT at once, which would cut the drain short.
  process.removeAllListeners("SIGINT");
  process.removeAllListeners("SIGTERM");
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
}
