// Endpoints (and their pools) outlive configs: a new snapshot takes over those it still lists, so warm mTLS
// connections and ejection state survive a swap. Building a snapshot is a transaction: commit closes what the
// new config dropped (after in-flight requests finish), abort closes what a rejected config had opened.
import type { Pool } from "undici";
import type { H2Pool } from "../upstream/h2.js";
import { EndpointState } from "./endpoint.js";

/** Grace before a dropped pool is closed: tries that started on the old snapshot may still pick it. */
const CLOSE_GRACE_MS = 2000;

export class EndpointRegistry {
  private live = new Map<string, EndpointState>();
  /** Endpoints dropped by a config, each closed when its grace timer fires (or at once by `closeAll`). */
  private closing = new Map<EndpointState, { timer: NodeJS.Timeout; done: Promise<void> }>();

  begin(): RegistryTxn {
    return new RegistryTxn(this.live);
  }

  commit(txn: RegistryTxn): void {
    const old = this.live;
    this.live = txn.next;
    for (const [key, ep] of old) if (!this.live.has(key)) this.retire(ep, CLOSE_GRACE_MS);
  }

  abort(txn: RegistryTxn): void {
    for (const [ep, version, weight, labels] of txn.previous) {
      ep.version = version;
      ep.weight = weight;
      ep.labels = labels;
    }
    for (const [key, ep] of txn.next) if (!this.live.has(key)) this.retire(ep, 0);
  }

  all(): IterableIterator<EndpointState> {
    return this.live.values();
  }

  /**
   * Closes every pool, waiting for in-flight requests; endpoints still in their grace period close now too.
   * Nothing here waits on an unref'd timer: a proxy's close must settle even when nothing else keeps the
   * process alive (it did not, and `trellis proxy` exited mid-drain, skipping what came after the drain).
   */
  async closeAll(): Promise<void> {
    const eps = [...this.live.values(), ...this.closing.keys()];
    for (const { timer } of this.closing.values()) clearTimeout(timer);
    this.closing.clear();
    this.live = new Map();
    await Promise.allSettled(eps.map((ep) => ep.close()));
  }

  private retire(ep: EndpointState, delayMs: number): void {
    if (this.closing.has(ep)) return;
    let timer!: NodeJS.Timeout;
    const done = new Promise<void>((resolve) => {
      // Unref'd: a dropped pool's grace does not keep a stopping process alive (closeAll closes it at once).
      timer = setTimeout(() => {
        this.closing.delete(ep);
        ep.close().then(resolve, resolve);
      }, delayMs);
      timer.unref();
    });
    this.closing.set(ep, { timer, done });
  }
}

export class RegistryTxn {
  readonly next = new Map<string, EndpointState>();
  /** Values a reused endpoint had before this transaction, restored if it aborts. */
  readonly previous: [EndpointState, string, number, Record<string, string>][] = [];
  constructor(private readonly live: Map<string, EndpointState>) {}

  get(
    key: string,
    address: string,
    makePool: () => Pool,
    version: string,
    weight: number,
    labels: Record<string, string>,
    makeH2: (() => H2Pool) | null = null,
    onlyH2 = false,
  ): EndpointState {
    let ep = this.next.get(key);
    if (ep !== undefined) return ep;
    ep = this.live.get(key);
    if (ep !== undefined) {
      this.previous.push([ep, ep.version, ep.weight, ep.labels]);
      ep.version = version;
      ep.weight = weight;
      ep.labels = labels;
    } else {
      ep = new EndpointState(key, address, makePool(), version, weight, labels);
      ep.h2Factory = makeH2;
      ep.onlyH2 = onlyH2;
    }
    this.next.set(key, ep);
    return ep;
  }
}
