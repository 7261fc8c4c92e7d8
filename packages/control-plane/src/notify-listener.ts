// One connection LISTENs for the console's and the other replicas' notifications. When it is lost (a
// PostgreSQL restart, a failover, a killed backend) it is opened again with jittered exponential backoff,
// and the owner is told, because notifications sent meanwhile are gone and everything must be read again.
// It is its own connection, not the pool's: a LISTEN belongs to one session, and it must not run queries of
// its own concurrently with pool work.
import pg from "pg";

export interface NotifyListenerOptions {
  databaseUrl: string;
  channels: readonly string[];
  onNotification: (n: pg.Notification) => void;
  /** The connection was lost and is back: what was sent meanwhile was missed. */
  onRestored: () => void;
  log: (line: string) => void;
  /** Wait before reconnect attempt `attempt` (0, 1, ...). */
  backoffMs?: (attempt: number) => number;
}

export interface NotifyListener {
  /** The connection is up (the replica's readiness). */
  readonly healthy: boolean;
  /** Ends the connection and stops reconnecting. */
  close(): Promise<void>;
}

/** Full jitter over 250 ms doubling per attempt, capped at 10 s: replicas that lost the database together do not return together. */
export function defaultBackoffMs(attempt: number): number {
  return Math.floor(Math.random() * Math.min(10_000, 250 * 2 ** Math.min(attempt, 6)));
}

/** Connects and LISTENs before it returns; a first connection that fails is thrown, not retried. */
export async function startNotifyListener(opts: NotifyListenerOptions): Promise<NotifyListener> {
  const { log } = opts;
  const backoffMs = opts.backoffMs ?? defaultBackoffMs;
  let listener: pg.Client | null = null;
  let healthy = false;
  let closed = false;
  let attempt = 0;
  let timer: NodeJS.Timeout | null = null;

  async function listen(): Promise<void> {
    const c = new pg.Client({ connectionString: opts.databaseUrl });
    c.on("error", (e) => {
      log(`control plane: lost the notification connection: ${e.message}`);
      void c.end().catch(() => {});
    });
    c.on("end", () => {
      if (listener !== c) return;
      listener = null;
      healthy = false;
      if (!closed) relisten();
    });
    c.on("notification", opts.onNotification);
    try {
      await c.connect();
      for (const channel of opts.channels) await c.query(`LISTEN ${channel}`);
    } catch (e) {
      await c.end().catch(() => {});
      throw e;
    }
    // Closed while connecting: this connection would outlive its owner.
    if (closed) return void (await c.end().catch(() => {}));
    listener = c;
    healthy = true;
  }

  function relisten(): void {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = null;
      listen().then(
        () => {
          if (closed) return;
          attempt = 0;
          log("control plane: notification connection restored; reading everything again");
          opts.onRestored();
        },
        (e: unknown) => {
          log(`control plane: reconnecting for notifications failed: ${(e as Error).message}`);
          relisten();
        },
      );
    }, backoffMs(attempt++));
    timer.unref();
  }

  await listen();
  return {
    get healthy() {
      return healthy;
    },
    async close() {
      closed = true;
      healthy = false;
      if (timer) clearTimeout(timer);
      const l = listener;
      listener = null;
      await l?.end().catch(() => {});
    },
  };
}
