// A bed is removed when its process ends, however it ends short of SIGKILL (which `sweep` covers at the next
// start): on 'exit' (a normal end, process.exit(), an uncaught exception), and on SIGINT, SIGTERM and SIGHUP.
//
// Signals: a process that handles a signal itself (the CLI's graceful Ctrl-C, a test runner) decides when to
// exit, and must be left to do it; the bed then goes in its shutdown or, at the latest, on 'exit'. Only when
// no one else listens does the hook remove the beds and re-raise the signal, so the process still dies of it
// as it would have without us (exit status 128+n, as a shell expects).

export interface ExitHookTarget {
  /** Synchronous: runs inside 'exit'. Must not throw. */
  destroyOnExit(): void;
}

const live = new Set<ExitHookTarget>();
const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
let installed = false;

function destroyAll(): void {
  for (const bed of [...live]) {
    live.delete(bed);
    bed.destroyOnExit();
  }
}

function onSignal(sig: NodeJS.Signals): void {
  if (process.listenerCount(sig) > 1) return; // someone else owns the shutdown
  destroyAll();
  uninstall();
  process.kill(process.pid, sig);
}

function uninstall(): void {
  process.removeListener("exit", destroyAll);
  for (const sig of SIGNALS) process.removeListener(sig, onSignal);
  installed = false;
}

export function register(bed: ExitHookTarget): void {
  live.add(bed);
  if (installed) return;
  installed = true;
  process.on("exit", destroyAll);
  for (const sig of SIGNALS) process.on(sig, onSignal);
}

export function unregister(bed: ExitHookTarget): void {
  live.delete(bed);
  if (live.size === 0 && installed) uninstall();
}
