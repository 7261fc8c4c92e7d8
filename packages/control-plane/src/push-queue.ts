// Paces config pushes over all proxies of this replica.
//
// A change reaches every proxy at once: thousands of sockets, each sent the whole config (hundreds of KB at
// 5,000 proxies). Written in one synchronous loop, that blocked the event loop for seconds (hellos timed out,
// ACKs waited) and left each TLS socket holding buffers the size of the largest write it ever had. Instead, a
// bounded number of proxies are written at a time, each in small fragments, the next fragment when the socket
// has taken the previous one: memory stays bounded and other work interleaves between fragments.

/** What the queue drives: a proxy stream with a config waiting to be written. */
export interface PushTarget {
  /** Writes the waiting config; calls `done` once, when written or abandoned. */
  writePending(done: () => void): void;
}

export class PushQueue {
  private waiting: PushTarget[] = [];
  private head = 0;
  private inFlight = 0;

  constructor(private readonly maxInFlight = 512) {}

  /** First configs: proxies that have none yet cannot serve, so they go before updates of running ones. */
  private urgent: PushTarget[] = [];

  enqueue(t: PushTarget, urgent = false): void {
    if (urgent) this.urgent.push(t);
    else this.waiting.push(t);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && (this.urgent.length > 0 || this.head < this.waiting.length)) {
      let t: PushTarget;
      if (this.urgent.length > 0) t = this.urgent.shift()!;
      else {
        t = this.waiting[this.head++]!;
        if (this.head === this.waiting.length) {
          this.waiting = [];
          this.head = 0;
        }
      }
      this.inFlight++;
      let finished = false;
      t.writePending(() => {
        if (finished) return;
        finished = true;
        this.inFlight--;
        this.pump();
      });
    }
  }
}
