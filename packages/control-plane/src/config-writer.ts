// The paced config writer of one proxy stream: which snapshot the proxy should have, what it holds once it has
// read everything written to it (the base of the next delta), and the writing itself — one text message, fragment
// by fragment, when the replica's push queue says so. Other messages on the stream wait while fragments go out
// (nothing may come between them).
import type { WebSocket } from "ws";
import type { PushQueue, PushTarget } from "./push-queue.js";
import type { Encoded, Snapshot } from "./snapshots.js";

export interface ConfigWriterDeps {
  /**
   * The message that brings a proxy holding `base` (null: unknown) to `snap`; with `endpointEdits`, services
   * whose endpoints alone changed go as edits of their endpoint lists.
   */
  encode(snap: Snapshot, base: Snapshot | null, endpointEdits: boolean): Encoded;
  /** A snapshot of this version, if the replica still has one (the base for deltas to a reconnecting proxy). */
  lookup(version: string): Snapshot | null;
  /** Keeps a snapshot while this proxy holds it (the base of its next delta); paired with `release`. */
  hold(snap: Snapshot): void;
  release(snap: Snapshot): void;
  pushes: PushQueue;
  onWritten(e: Encoded): void;
}

export class ConfigWriter implements PushTarget {
  /** The version last decided for this proxy (written or waiting), and the nonce its answer must carry. */
  sentVersion: string | null = null;
  sentNonce: string | null = null;
  /** The proxy applies deltas (said so in its hello). */
  deltas = false;
  /** It applies endpoint edits in deltas too (`endpoint-delta`). */
  endpointDeltas = false;
  /** The snapshot this proxy should have (its version is `sentVersion`); `pushWaiting` until it is written. */
  private target: Snapshot | null = null;
  private pushWaiting = false;
  /**
   * The version the proxy holds once it has read everything written to it (applied or refused: a refused
   * config is still the base of the next delta, as in xDS). Null when unknown: the next push is whole.
   */
  private writtenVersion: string | null = null;
  /** The snapshot of `writtenVersion`, when known: held (see `ConfigWriterDeps.hold`) for deltas against it. */
  private base: Snapshot | null = null;
  /** A message being written, and messages held back meanwhile. */
  private writing: Encoded | null = null;
  private queuedForPush = false;
  private heldBack: string[] = [];
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: ConfigWriterDeps,
  ) {}

  /** The snapshot last decided for this proxy (null before the first push). */
  get sent(): Snapshot | null {
    return this.target;
  }

  /**
   * A reconnecting proxy serves `appliedVersion` already: it is not sent again, and changes are sent against it
   * when the replica still has that snapshot.
   */
  resume(appliedVersion: string): void {
    this.sentVersion = appliedVersion;
    this.writtenVersion = appliedVersion;
    if (this.deltas) this.setBase(this.deps.lookup(appliedVersion));
  }

  /**
   * Sends a snapshot unless this proxy already has that version (or has it coming). Returns whether it will
   * send. The write is paced by the push queue; a newer snapshot replaces one still waiting, and what is written
   * (whole or delta) is decided when it is written, against what the proxy holds by then.
   */
  push(snap: Snapshot): boolean {
    if (this.closed || snap.version === this.sentVersion) return false;
    const first = this.sentVersion === null;
    this.sentVersion = snap.version;
    this.sentNonce = snap.nonce;
    this.target = snap;
    this.schedule(first);
    return true;
  }

  /**
   * The proxy could not apply the delta of `version`: the next write is whole. Returns false (nothing to do) for
   * an answer about an older message: what was written after it settles the matter (a whole config is applied;
   * a delta on top of the failed one fails too and brings its own resync).
   */
  resync(version: string): boolean {
    if (version !== this.writtenVersion || this.target === null) return false;
    this.writtenVersion = null;
    this.setBase(null);
    this.schedule(true);
    return true;
  }

  /** Sends a message now, or right after the fragments being written. */
  send(text: string): void {
    if (this.closed) return;
    if (this.writing !== null) this.heldBack.push(text);
    else this.ws.send(text);
  }

  /** The stream closed: nothing more is written, and the base is released. */
  close(): void {
    this.closed = true;
    this.setBase(null);
  }

  /** Called by the push queue: writes the waiting snapshot as one text message, fragment by fragment. */
  writePending(done: () => void): void {
    this.queuedForPush = false;
    const snap = this.target;
    if (!this.pushWaiting || snap === null || this.closed) return done();
    this.pushWaiting = false;
    const msg = this.deps.encode(snap, this.base, this.endpointDeltas);
    this.writing = msg;
    this.writtenVersion = snap.version;
    this.setBase(this.deltas ? snap : null);
    this.deps.onWritten(msg);
    const chunks = msg.chunks;
    let i = 0;
    const next = (err?: Error | null): void => {
      if (err || this.closed || i === chunks.length) return this.endWrite(done);
      const chunk = chunks[i++]!;
      this.ws.send(chunk, { binary: false, fin: i === chunks.length }, next);
    };
    next();
  }

  private schedule(urgent: boolean): void {
    this.pushWaiting = true;
    if (!this.queuedForPush && this.writing === null) {
      this.queuedForPush = true;
      this.deps.pushes.enqueue(this, urgent);
    }
  }

  private setBase(snap: Snapshot | null): void {
    if (snap !== null) this.deps.hold(snap);
    if (this.base !== null) this.deps.release(this.base);
    this.base = snap;
  }

  private endWrite(done: () => void): void {
    this.writing = null;
    for (const m of this.heldBack.splice(0)) if (!this.closed) this.ws.send(m);
    if (this.pushWaiting && !this.closed) {
      this.queuedForPush = true;
      this.deps.pushes.enqueue(this);
    }
    done();
  }
}
